-- Broadcast from the database: realtime.send(payload, event, topic, private) like Supabase's, so
-- triggers and SQL can announce events. The Realtime gateway LISTENs on 'realtime_canary_send'
-- (src/target/realtime/database-broadcast.ts) and delivers each message after commit.
create schema if not exists realtime;
grant usage on schema realtime to anon, authenticated, service_role;
create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform pg_notify('realtime_canary_send', pg_catalog.jsonb_build_object(
    'topic', topic, 'event', event, 'payload', payload, 'private', private,
    'id', coalesce(
      case when pg_catalog.jsonb_typeof(payload) = 'object' then payload->>'id' end,
      pg_catalog.gen_random_uuid()::text
    )
  )::text);
end
$$;
revoke all on function realtime.send(jsonb, text, text, boolean) from public;
grant execute on function realtime.send(jsonb, text, text, boolean) to authenticated, service_role;
