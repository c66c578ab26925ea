export * from './dead-letters/index.ts';
export { type SaverHandle, type SaverOptions, startSavers } from './saver.ts';
export { defaultSaverTopics, type SaverTopics, saverTopicsWithSuffix, sourceTopics } from './topics.ts';
