/** Which notifications of a release were sent, so a retried state sends nothing twice. */
export interface NotificationMarks {
  /** Records that `kind` was sent for the release; false if it already was. */
  mark(releaseId: string, kind: string): Promise<boolean>;
  /** Forgets the mark (the send failed after marking: the retry must send). */
  unmark(releaseId: string, kind: string): Promise<void>;
  /** True if `kind` was marked as sent for the release (a consistent read). */
  isMarked(releaseId: string, kind: string): Promise<boolean>;
}
