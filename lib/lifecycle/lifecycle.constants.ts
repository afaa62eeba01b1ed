/** Metadata key of `@ProofOfWork()`. */
export const PROOF_OF_WORK_KEY = 'zero-trust:proof-of-work';
