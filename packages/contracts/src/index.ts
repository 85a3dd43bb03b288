export type { InfrastructureErrorOptions } from './errors.js';
export { InfrastructureError, isInfrastructureError } from './errors.js';
