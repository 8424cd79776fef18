/** The curl command line getReadyz runs for `url`, for stubbing it on a FakeHost. */
export const readyzCurlArgs = (url: string): string[] => [
  '-sS',
  '--globoff',
  '--max-time',
  '5',
  '--cacert',
  '/etc/kubernetes/pki/ca.crt',
  '-w',
  '\n%{http_code}',
  url,
];
