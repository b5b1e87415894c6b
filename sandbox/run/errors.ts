/** A scenario file that cannot be run as written (CLI exit code 2). */
export class ScenarioError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'ScenarioError';
  }
}
