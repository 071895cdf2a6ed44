/**
 * Undo steps for a multi-step change (Cognito user, group, Patient, link record): registered as
 * each step succeeds, run in reverse when a later step fails, so nothing is left half-written.
 */
import { CliError, oneLine } from './errors';

export class Rollback {
  private readonly steps: { what: string; undo: () => Promise<void> }[] = [];

  /** Register how to undo a step that has just succeeded. */
  add(what: string, undo: () => Promise<void>): void {
    this.steps.push({ what, undo });
  }

  /**
   * Undo everything, newest first, and turn the original failure into one line that says what
   * was undone — or, if an undo failed, what is left for the operator to remove by hand.
   */
  async fail(cause: unknown): Promise<CliError> {
    const message = cause instanceof Error ? oneLine(cause.message) : String(cause);
    const undone: string[] = [];
    const left: string[] = [];
    for (const step of this.steps.reverse()) {
      try {
        await step.undo();
        undone.push(step.what);
      } catch (err) {
        left.push(`${step.what} (${err instanceof Error ? oneLine(err.message) : String(err)})`);
      }
    }
    this.steps.length = 0;
    if (left.length > 0) return new CliError(`${message}; rolling back FAILED, remove by hand: ${left.join('; ')}`);
    return new CliError(undone.length > 0 ? `${message}; rolled back: ${undone.join(', ')} (nothing was written)` : `${message} (nothing was written)`);
  }
}
