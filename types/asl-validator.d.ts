declare module 'asl-validator' {
  /** One finding; asl-validator names its fields with spaces and capitals. */
  interface StateMachineError {
    'Error code': string;
    Message: string;
    [field: string]: unknown;
  }

  interface ValidationResult {
    isValid: boolean;
    errors: StateMachineError[];
    /** The errors as `<code>: <message>` lines. */
    errorsText: (separator?: string) => string;
  }

  interface ValidationOptions {
    /** Check JSONPath syntax in InputPath, OutputPath, ResultPath. @default true */
    checkPaths?: boolean;
    /** Check that Task `Resource` values are ARNs. @default true */
    checkArn?: boolean;
  }

  /** Validates an Amazon States Language definition. Mutates its input (adds `QueryLanguage`). */
  function aslValidator(definition: unknown, options?: ValidationOptions): ValidationResult;
  export = aslValidator;
}
