-- The marketplace tables as the production audit describes them: customers' sessions, the
-- mechanics who take them, and session_assignments (the row whose delivery is measured).

create table public.mechanics (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  -- Admins see every assignment ("Admins can view all assignments").
  is_admin boolean not null default false,
  created_at timestamptz not null default now()
);

create table public.sessions (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid,
  type text not null default 'free' check (type in ('free', 'paid')),
  status text not null default 'pending',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table public.session_assignments (
  id uuid primary key default gen_random_uuid(),
  session_id uuid not null references public.sessions (id) on delete cascade,
  mechanic_id uuid references public.mechanics (id) on delete set null,
  status text check (status in (
    'pending_waiver', 'queued', 'offered', 'accepted',
    'declined', 'expired', 'cancelled', 'completed'
  )) default 'queued',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  offered_at timestamptz,
  accepted_at timestamptz,
  expired_at timestamptz,
  metadata jsonb not null default '{}'::jsonb
);

create index session_assignments_session_id_idx on public.session_assignments (session_id);
create index session_assignments_mechanic_id_idx on public.session_assignments (mechanic_id);
create index session_assignments_status_idx on public.session_assignments (status);
create index session_assignments_created_at_idx on public.session_assignments (created_at);

create or replace function public.set_updated_at() returns trigger
language plpgsql
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

create trigger session_assignments_set_updated_at
  before update on public.session_assignments
  for each row execute function public.set_updated_at();

create trigger sessions_set_updated_at
  before update on public.sessions
  for each row execute function public.set_updated_at();
