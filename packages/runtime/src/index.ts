export * from './backend.js';
export * from './registry.js';
export * from './plan.js';
export * from './events.js';
export * from './container.js';
export * from './session.js';
