-- Broadcast from Database as Supabase ships it: realtime.messages (partitioned by day, read from the
-- WAL by the Realtime gateway through supabase_realtime_messages_publication), realtime.topic(),
-- realtime.send() and realtime.broadcast_changes(). RLS policies on realtime.messages authorise
-- private channels: SELECT to join and receive (per extension: broadcast, presence), INSERT to send.
-- Replaces 0005's pg_notify carrier: a message now exists only if its transaction commits.

create table realtime.messages (
  topic text not null,
  extension text not null,
  payload jsonb,
  event text,
  private boolean default false,
  updated_at timestamp without time zone not null default now(),
  inserted_at timestamp without time zone not null default now(),
  id uuid not null default gen_random_uuid(),
  primary key (id, inserted_at)
) partition by range (inserted_at);

alter table realtime.messages enable row level security;
grant select, insert, update on realtime.messages to anon, authenticated, service_role;

-- The topic of the message or channel being authorised; policies compare it.
create or replace function realtime.topic() returns text
language sql stable
as $$ select nullif(current_setting('realtime.topic', true), '')::text; $$;
grant execute on function realtime.topic() to anon, authenticated, service_role;

-- Daily partitions: one per day from `retain_days` ago to `ahead_days` ahead; older ones dropped.
-- Supabase keeps three days of messages; the target runs this at start and every hour.
create or replace function realtime.canary_housekeep_messages(retain_days integer default 3, ahead_days integer default 3)
returns table (created text[], dropped text[])
language plpgsql
security definer
set search_path = ''
as $$
declare
  day date;
  partition_name text;
  made text[] := '{}';
  gone text[] := '{}';
  old record;
begin
  for day in select pg_catalog.generate_series(current_date, current_date + ahead_days, interval '1 day')::date loop
    partition_name := 'messages_' || pg_catalog.to_char(day, 'YYYY_MM_DD');
    if pg_catalog.to_regclass('realtime.' || partition_name) is null then
      execute pg_catalog.format(
        'create table realtime.%I partition of realtime.messages for values from (%L) to (%L)',
        partition_name, day, day + 1);
      made := made || partition_name;
    end if;
  end loop;
  for old in
    select c.relname from pg_catalog.pg_inherits i
      join pg_catalog.pg_class c on c.oid = i.inhrelid
     where i.inhparent = 'realtime.messages'::regclass
       and c.relname ~ '^messages_\d{4}_\d{2}_\d{2}$'
       and pg_catalog.to_date(pg_catalog.substr(c.relname, 10), 'YYYY_MM_DD') < current_date - retain_days
  loop
    execute pg_catalog.format('drop table realtime.%I', old.relname);
    gone := gone || old.relname::text;
  end loop;
  return query select made, gone;
end
$$;
revoke all on function realtime.canary_housekeep_messages(integer, integer) from public;
select realtime.canary_housekeep_messages();

-- Supabase's realtime.send: the payload gets an `id` when it has none; a failure is a warning, so
-- a broadcast never aborts the caller's transaction.
create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void
language plpgsql
as $$
declare
  generated_id uuid;
  final_payload jsonb;
begin
  begin
    generated_id := gen_random_uuid();
    if payload ? 'id' then
      final_payload := payload;
    else
      final_payload := jsonb_set(payload, '{id}', to_jsonb(generated_id));
    end if;
    perform set_config('realtime.topic', topic, true);
    insert into realtime.messages (id, payload, event, topic, private, extension)
    values (generated_id, final_payload, event, topic, private, 'broadcast');
  exception
    when others then
      raise warning 'ErrorSendingBroadcastMessage: %', sqlerrm;
  end;
end
$$;
grant execute on function realtime.send(jsonb, text, text, boolean) to authenticated, service_role;

-- Supabase's realtime.broadcast_changes, for row triggers: the payload is
-- {old_record, record, operation, table, schema} (plus the `id` realtime.send adds).
create or replace function realtime.broadcast_changes(
  topic_name text, event_name text, operation text, table_name text, table_schema text,
  new record, old record, level text default 'ROW'
) returns void
language plpgsql
as $$
declare
  row_data jsonb := '{}'::jsonb;
begin
  if level = 'STATEMENT' then
    raise exception 'function can only be triggered for each row, not for each statement';
  end if;
  if operation = 'INSERT' or operation = 'UPDATE' or operation = 'DELETE' then
    row_data := jsonb_build_object(
      'old_record', old, 'record', new, 'operation', operation, 'table', table_name, 'schema', table_schema);
    perform realtime.send(row_data, event_name, topic_name);
  else
    raise exception 'Unexpected operation type: %', operation;
  end if;
exception
  when others then
    raise exception 'Failed to process the row: %', sqlerrm;
end
$$;
grant execute on function realtime.broadcast_changes(text, text, text, text, text, record, record, text)
  to authenticated, service_role;

create publication supabase_realtime_messages_publication
  for table realtime.messages with (publish_via_partition_root = true);

-- session_assignments announce themselves on a private channel. The trigger's argument picks the
-- topic: 'per_mechanic' → mechanic:<mechanic_id>:assignments (a row without a mechanic goes to
-- the shared topic), 'shared' → assignments. Fault injection and the target's topic setting
-- recreate it from src/target/database/realtime-policy.ts.
create or replace function public.broadcast_session_assignment() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  topic text := 'assignments';
begin
  if coalesce(tg_argv[0], 'per_mechanic') = 'per_mechanic' and new.mechanic_id is not null then
    topic := 'mechanic:' || new.mechanic_id::text || ':assignments';
  end if;
  perform realtime.broadcast_changes(
    topic, tg_op, tg_op, tg_table_name, tg_table_schema, new, case when tg_op = 'INSERT' then null else old end);
  return null;
end
$$;
create trigger broadcast_session_assignment after insert or update on public.session_assignments for each row execute function public.broadcast_session_assignment('per_mechanic');

-- Example policies for mechanics: receive and send on the shared topic and on their own topic.
create policy "Mechanics can receive assignment broadcasts" on realtime.messages for select to authenticated using (public.is_mechanic() and realtime.messages.extension in ('broadcast', 'presence') and (realtime.topic() = 'assignments' or realtime.topic() = 'mechanic:' || auth.uid()::text || ':assignments'));
create policy "Mechanics can send on their assignment topics" on realtime.messages for insert to authenticated with check (public.is_mechanic() and realtime.messages.extension in ('broadcast', 'presence') and (realtime.topic() = 'assignments' or realtime.topic() = 'mechanic:' || auth.uid()::text || ':assignments'));
