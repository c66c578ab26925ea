export { apiVersion, type BuildAppOptions, buildApp, type JobTrigger } from './app.ts';
export { mergeOverlapMinutes } from './merge.ts';
export { type RunningServer, startServer } from './server.ts';
