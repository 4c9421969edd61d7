-- Row level security as in production: a deliberately broad SELECT for mechanics (postgres_changes
-- only reaches subscribers who may SELECT the row), admin SELECT, service-role INSERT, and
-- mechanics updating only their own assignments. Grants mirror a Supabase project.

-- Who counts as a mechanic / admin. SECURITY DEFINER so policies can consult mechanics without
-- depending on that table's own policies.
create or replace function public.is_mechanic() returns boolean
language sql stable security definer set search_path = ''
as $$
  select exists (select 1 from public.mechanics m where m.id = auth.uid())
$$;

-- Admins: a mechanic flagged is_admin, or a token whose app_metadata.role is 'admin'.
create or replace function public.is_admin() returns boolean
language sql stable security definer set search_path = ''
as $$
  select coalesce(auth.jwt() -> 'app_metadata' ->> 'role', '') = 'admin'
      or exists (select 1 from public.mechanics m where m.id = auth.uid() and m.is_admin)
$$;

grant execute on function public.is_mechanic(), public.is_admin() to anon, authenticated, service_role;

grant select, insert, update, delete on public.sessions, public.mechanics, public.session_assignments
  to anon, authenticated, service_role;

alter table public.session_assignments enable row level security;
alter table public.sessions enable row level security;
alter table public.mechanics enable row level security;

-- The realtime SELECT policy. Fault injection drops and recreates exactly this statement by name
-- (src/target/database/realtime-policy.ts holds the same text; a test keeps them equal).
create policy "Mechanics can view assignments for realtime" on public.session_assignments for select to authenticated using (public.is_mechanic());

create policy "Admins can view all assignments"
  on public.session_assignments for select to authenticated
  using (public.is_admin());

create policy "System can insert assignments"
  on public.session_assignments for insert to service_role
  with check (true);

create policy "Mechanics can update their assignments"
  on public.session_assignments for update to authenticated
  using (mechanic_id = auth.uid())
  with check (mechanic_id = auth.uid());

create policy "Mechanics can view sessions"
  on public.sessions for select to authenticated
  using (public.is_mechanic());

create policy "Mechanics can view mechanics"
  on public.mechanics for select to authenticated
  using (public.is_mechanic());
