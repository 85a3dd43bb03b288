// Conformance suites for every port (filled in by the conformance work).
export {};
