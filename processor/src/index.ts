export { createProcessor, type Processor, type ProcessorDeps, type ProcessorTopics } from './app';
export { loadConfig, processorEnv, type ProcessorConfig } from './config';
