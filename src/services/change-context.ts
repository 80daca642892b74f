// Who is making a change, and the trace id that ties its log lines together.
import type { AdminUser } from '../types';

export interface ChangeContext {
  user: AdminUser;
  traceId: string;
}
