import { Type } from 'typebox';
import { Closed } from './common.js';

export const SetupParams = Closed({ token: Type.String({ minLength: 1, maxLength: 200 }) });
export const SetupBody = Closed({ password: Type.String({ maxLength: 1024 }) });
export const OperatorSetupBody = Closed({ name: Type.String({ minLength: 1, maxLength: 100, description: 'Name of the operator token to create' }) });
