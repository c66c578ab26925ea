/**
 * A step of the saving pipeline: a small pure function that either passes a value on or says why
 * the message belongs in the dead letters. Steps return results instead of throwing, so one bad
 * message never stops a batch.
 */
export type StepResult<T> = { ok: true; value: T } | { ok: false; reason: string };

export const ok = <T>(value: T): StepResult<T> => ({ ok: true, value });
export const deadLetter = <T = never>(reason: string): StepResult<T> => ({ ok: false, reason });
