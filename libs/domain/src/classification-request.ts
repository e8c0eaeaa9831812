/** A viewpoint of the `wl_spec_vps` catalogue (requests are built by the built-in job type of libs/job-types). */
export interface Viewpoint {
  id: number;
  name: string;
}

/** The chat-completions endpoint that every `specific_viewpoint` request targets. */
export const CHAT_COMPLETIONS_URL = '/v1/chat/completions';
