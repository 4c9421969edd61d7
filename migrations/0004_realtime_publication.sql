-- postgres_changes: full old rows in UPDATE/DELETE events, and the table in Supabase's publication.
-- Fault injection removes and re-adds the table here (publicationMissing).
alter table public.session_assignments replica identity full;

create publication supabase_realtime;
alter publication supabase_realtime add table public.session_assignments;
