// What the resource shell needs from whoever runs resource groups: start a
// group left to right, stop it right to left, ask whether it runs. The
// haresources group runner implements it for real; tests may pass another.

export interface GroupActionResult {
  ok: boolean;
  /** For logs when it failed: which resource, and what its script said. */
  detail: string;
}

export interface GroupActions {
  start(key: string): Promise<GroupActionResult>;
  stop(key: string): Promise<GroupActionResult>;
  /** True when any resource of the group reports running (so it must be stopped before anyone starts it elsewhere). */
  running(key: string): Promise<boolean>;
  /** True when every resource of the group reports running (monitoring). */
  healthy(key: string): Promise<boolean>;
}
