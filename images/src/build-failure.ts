/**
 * What a failed build step printed that explains it. Docker's own lines (Step N/M, ---> ids, "The command ...
 * returned a non-zero code") say which step failed, not why; the command's last error lines do.
 */
const DOCKER_CHATTER =
  /^(Step \d+\/\d+ :|---> |Removing intermediate container|Running in |Sending build context|The command .* returned a non-zero code|Successfully )/;
const ERROR_LINE =
  /\b(error|errors|failed|failure|fatal|could not|cannot|can't|unable|not found|no such|denied|refused|timed out|unreachable|invalid)\b|^E: |^curl: \(\d+\)|^(tar|gzip|bzip2|xz|wget|curl|sh|bash|pip|conda|julia): /i;
const NETWORK_LINE =
  /could not resolve|temporary failure in name resolution|name or service not known|network is unreachable|no route to host|connection (refused|timed out|reset)|failed to establish a new connection|failed to fetch|could not connect|unable to connect|tls handshake timeout|i\/o timeout|no such host|^curl: \((6|7|28|35|56)\)/i;

export interface BuildFailureSummary {
  /** The last lines that say what went wrong (at most `limit`), else the last lines printed. */
  lines: string[];
  /** Whether they say the network or a server could not be reached: an infrastructure problem, not the config's. */
  network: boolean;
}

export function summarizeBuildFailure(output: readonly string[], limit = 2): BuildFailureSummary {
  // Docker colours a step's stderr; the escapes are not part of what it said.
  const printed = output
    .map((line) => line.replace(/\x1b\[[0-9;]*m/g, '').trim())
    .filter((line) => line.length > 0 && !DOCKER_CHATTER.test(line));
  const errors = printed.filter((line) => ERROR_LINE.test(line));
  const candidates = errors.length > 0 ? errors : printed;
  const network = printed.filter((line) => NETWORK_LINE.test(line)).at(-1);
  let chosen = candidates.slice(-limit);
  // The unreachable host is the cause; what failed after it (tar reading nothing) is only the consequence.
  if (network !== undefined && !chosen.includes(network)) chosen = [network, ...chosen.slice(1 - limit)];
  const lines = [...new Set(chosen)].map((line) => (line.length > 200 ? `${line.slice(0, 199)}…` : line));
  return { lines, network: network !== undefined };
}
