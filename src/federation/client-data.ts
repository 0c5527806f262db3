/** One client of a run: who it is (id, rank, example count) and its encoded examples. */
import type { EncodedExample } from '../data/encode.js';
import type { ClientInfo } from '../methods/method.js';

export interface ClientData {
  info: ClientInfo;
  examples: EncodedExample[];
}
