export { type DeadLetter, type DeadLetterFilter, type DeadLetterGroup, listDeadLetters, showDeadLetter } from './inspect.ts';
export { ReplayOfHeader, type ReplayReport, replayDeadLetters } from './replay.ts';
