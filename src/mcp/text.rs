//! The words a model reads: the server's instructions and each tool's
//! description. They are the whole manual an agent gets, so each says when to
//! use the tool, what it returns, what `pending` means and what each error
//! code asks of the agent.

pub const INSTRUCTIONS: &str = "This server lets you ask human specialists in Webex for help, and tell them things. \
Typical flow: list_spaces (or find_person) to choose `to`; ask_specialist with a clear summary and question; \
if it returns status \"pending\", call get_answer with its escalation_id until the status is answered, expired, cancelled or failed. \
The answer is kept by the webex-hitl daemon, not in this conversation: nothing is lost if a call times out or you do other work meanwhile. \
Calling ask_specialist again with the same arguments (or the same key) never posts a second card; it returns the first escalation. \
Use send_message for one-way notes and cancel_escalation when an answer is no longer needed. \
Errors come as tool errors with error.code and error.advice saying what to do.";

pub const LIST_SPACES: &str = "List the Webex spaces (group rooms) the bot is a member of: the only spaces where ask_specialist and send_message can post. \
Use it to find the space_id of the specialists' space, e.g. with query \"escalation\". \
Returns {spaces: [{space_id, title, last_activity}], count}. A space that is missing cannot be used until someone adds the bot to it in Webex. \
To reach one person, use their email as `to` instead (see find_person).";

pub const FIND_PERSON: &str =
    "Check that Webex knows a person, by email, before sending them a direct card or message. \
Returns {person_id, email, name}. Error unknown_person: Webex has no user with that email.";

pub const ASK_SPECIALIST: &str = "Ask a human specialist in Webex and wait for the answer. \
Posts a card (your summary, question, the customer's details and the input fields) to a space (any member may answer) or to one person by email (only they may answer), then waits up to wait_s seconds (default 45) for the answer. \
Returns one of: \
status \"answered\": answer.inputs holds what the specialist entered (answer.inputs.response with the default field), answer.by who answered. \
status \"pending\": nobody answered yet; the card stays open until expires_at (timeout_s, default 30 minutes). Call get_answer with the escalation_id to keep waiting, as often as needed. Do not call ask_specialist again for the same question. \
status \"expired\", \"cancelled\" or \"failed\", with a reason. \
Safe to retry: the same key, or without a key the same arguments within 5 minutes, returns the same escalation (with its answer if one came) instead of posting a second card; so after a timeout or a transport error, call again with exactly the same arguments. \
Errors (error.code): bot_not_in_space (the bot must be added to that space first), unknown_person (no Webex user with that email), invalid (an argument is wrong; the message names it), key_conflict (the key was used for a different question), daemon_unreachable (the webex-hitl daemon is not running), webex_rate_limited or webex_unreachable (retry in a minute), webex_token_rejected (an operator must fix the bot token). Each error carries advice.";

pub const GET_ANSWER: &str = "Get the answer to an escalation that ask_specialist returned as \"pending\", waiting up to wait_s seconds (default 45) for it; it returns as soon as the escalation is answered or closed. \
Returns the same shape as ask_specialist: status \"answered\" with answer.inputs; \"pending\" (no answer yet: call get_answer again later; the answer is kept until expires_at, nothing is lost by waiting); or \"expired\", \"cancelled\", \"failed\" with a reason. \
Error not_found: no escalation has that id.";

pub const CANCEL_ESCALATION: &str = "Withdraw a pending escalation when its answer is no longer needed (the customer's issue was solved, the question is moot). \
The card in Webex then says it was cancelled, with your reason, and takes no more answers. Returns the escalation with status \"cancelled\". \
Error not_pending: it was already answered, expired or cancelled; call get_answer to see how it ended.";

pub const SEND_MESSAGE: &str =
    "Send a one-way message to a Webex space or person: a heads-up, the outcome of a case, thanks to a specialist. \
It asks nothing and collects no answer; to ask, use ask_specialist. Give `text` or `markdown`. \
Returns {status: \"sent\", message_id, space_id}. Every call posts a new message. \
Errors: bot_not_in_space, unknown_person, invalid, as for ask_specialist.";
