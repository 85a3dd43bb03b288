// In-memory implementations of every port (filled in by the in-memory work).
export {};
