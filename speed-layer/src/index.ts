// The speed layer's public surface: the savers, their topics, and the dead-letter commands.
export {
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterGroup,
  listDeadLetters,
  ReplayOfHeader,
  type ReplayReport,
  replayDeadLetters,
  showDeadLetter,
} from './dead-letters/index.ts';
export { type SaverHandle, type SaverOptions, startSavers } from './saver.ts';
export { defaultSaverTopics, type SaverTopics, saverTopicsWithSuffix, sourceTopics } from './topics.ts';
