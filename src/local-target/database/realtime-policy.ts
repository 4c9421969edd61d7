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

/**
 * The example realtime.messages SELECT policy that lets mechanics join and receive private
 * assignment broadcasts (migrations/0007). The `messagesPolicyMissing` fault drops and recreates it.
 */
export const MESSAGES_SELECT_POLICY = {
  name: 'Mechanics can receive assignment broadcasts',
  table: 'realtime.messages',
  create:
    "create policy \"Mechanics can receive assignment broadcasts\" on realtime.messages for select to authenticated using (public.is_mechanic() and realtime.messages.extension in ('broadcast', 'presence') and (realtime.topic() = 'assignments' or realtime.topic() = 'mechanic:' || auth.uid()::text || ':assignments'));",
  drop: 'drop policy if exists "Mechanics can receive assignment broadcasts" on realtime.messages;',
} as const;

/** Where the session_assignments trigger broadcasts: each mechanic's own topic, or one shared topic. */
export type AssignmentTopicMode = 'per_mechanic' | 'shared';

/** The topic a mechanic's assignments are broadcast on (the trigger in migrations/0007 computes the same). */
export function assignmentTopic(mode: AssignmentTopicMode, mechanicId: string): string {
  return mode === 'per_mechanic' ? `mechanic:${mechanicId}:assignments` : 'assignments';
}

/** The Broadcast-from-Database trigger on session_assignments (migrations/0007). */
export const ASSIGNMENT_BROADCAST_TRIGGER = {
  name: 'broadcast_session_assignment',
  table: 'public.session_assignments',
  create: (mode: AssignmentTopicMode): string =>
    `create trigger broadcast_session_assignment after insert or update on public.session_assignments for each row execute function public.broadcast_session_assignment('${mode}');`,
  drop: 'drop trigger if exists broadcast_session_assignment on public.session_assignments;',
} as const;

/** Daily partitions of realtime.messages: created ahead, dropped after this many days (Supabase: 3). */
export const MESSAGE_RETENTION_DAYS = 3;
export const MESSAGES_HOUSEKEEPING = `select created, dropped from realtime.canary_housekeep_messages(${MESSAGE_RETENTION_DAYS}, 3)`;
