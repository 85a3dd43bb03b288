export { invalidArgument, MESSAGE_PREFIX } from './errors.js';
