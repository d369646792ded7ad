import { AppError } from '../../lib/errors';

/** Self-service account rules. */
export const authPolicy = {
  /** Only buyers and realtors sign themselves up; admins are created by an operator. */
  assertCanRegisterAs(role: string): void {
    if (role !== 'buyer' && role !== 'realtor') {
      throw new AppError(400, 'VALIDATION_ERROR', 'role must be buyer or realtor', 'role');
    }
  },
};
