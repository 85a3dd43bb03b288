// Conformance suites for every port (filled in by the conformance work).
export * from './conformance/shared.js';
