/** A mode the data directory cannot support (missing exemplars); the message says what to add. */
export class PromptUnavailableError extends Error {
  override name = 'PromptUnavailableError';
}
