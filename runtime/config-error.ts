/** A setting the user has to change (environment, flags, installed providers): printed as one line. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
