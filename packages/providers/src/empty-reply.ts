// Filled in by the smarter-pool work (issue 14); exported from the package index.
export {};
