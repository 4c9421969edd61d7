/**
 * The RLS policy that lets mechanics receive postgres_changes for session_assignments. Fault
 * injection drops and recreates it by name; this is the one definition both the migration and the
 * fault code use (a test checks migrations/0003 contains `create` verbatim).
 */
export const REALTIME_SELECT_POLICY = {
  name: 'Mechanics can view assignments for realtime',
  table: 'public.session_assignments',
  create:
    'create policy "Mechanics can view assignments for realtime" on public.session_assignments for select to authenticated using (public.is_mechanic());',
  drop: 'drop policy if exists "Mechanics can view assignments for realtime" on public.session_assignments;',
} as const;

/** Statements that take session_assignments out of / back into the Realtime publication. */
export const REALTIME_PUBLICATION = {
  name: 'supabase_realtime',
  table: 'public.session_assignments',
  removeTable: 'alter publication supabase_realtime drop table public.session_assignments;',
  addTable: 'alter publication supabase_realtime add table public.session_assignments;',
} as const;
