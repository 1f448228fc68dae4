// Public library entry: see src/reconstructor.ts (being written).
export const VERSION = "0.1.0";
