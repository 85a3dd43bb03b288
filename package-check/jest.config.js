import { createJestConfig } from '@voelgoed/jest-preset';

export default createJestConfig(import.meta.dirname);
