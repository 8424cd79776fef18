/** The largest request body the API reads; the CLI refuses a bigger spec before sending it. */
export const apiBodyLimitBytes = 4 * 1024 * 1024;
