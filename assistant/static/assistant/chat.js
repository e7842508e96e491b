// The chat page's behaviour: send a question, stream its answer, then swap in the answer as the
// server renders it (Markdown, citation chips, sources, feedback). Everything the model writes is
// put into the page as text while it streams, never as HTML; the finished answer's HTML comes from
// the server, which escapes it (assistant/markup.py).
(() => {
  "use strict";

  const strings = JSON.parse(document.getElementById("chat-strings").textContent);
  const urls = JSON.parse(document.getElementById("chat-urls").textContent);
  const form = document.getElementById("composer");
  const textarea = document.getElementById("question");
  const sendButton = document.getElementById("send");
  const stopButton = document.getElementById("stop");
  const errorLine = document.getElementById("composer-error");
  const messages = document.getElementById("messages");
  const dialog = document.getElementById("passage-dialog");
  const csrfToken = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];

  let conversationId = form.dataset.conversation;
  let running = null; // the answer being streamed: {id, source}

  const urlFor = (name, id) => urls[name].replace("{id}", String(id));

  function setBusy(busy) {
    textarea.disabled = busy;
    sendButton.disabled = busy;
    stopButton.hidden = !busy;
    stopButton.disabled = false;
    if (!busy) textarea.focus();
  }

  function scrollToEnd() {
    messages.scrollTop = messages.scrollHeight;
  }

  // Enter sends; Shift+Enter is a new line; Enter that confirms a Chinese input method's
  // candidate (isComposing) is the input method's, not a send.
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const question = textarea.value.trim();
    if (!question || running) return;
    errorLine.textContent = "";
    setBusy(true);
    let reply;
    try {
      reply = await ask(question);
    } catch (error) {
      errorLine.textContent = error.message;
      setBusy(false);
      return;
    }
    textarea.value = "";
    document.getElementById("empty-state")?.remove();
    messages.append(questionBubble(question));
    const bubble = answerBubble(reply.message);
    messages.append(bubble);
    scrollToEnd();
    if (!conversationId) conversationStarted(reply.conversation);
    stream(bubble, reply.message, reply.stream);
  });

  async function ask(question) {
    const body = new FormData();
    body.append("question", question);
    if (conversationId) body.append("conversation", conversationId);
    let response;
    try {
      response = await fetch(urls.ask, {
        method: "POST",
        body,
        headers: { "X-CSRFToken": csrfToken },
        credentials: "same-origin",
      });
    } catch {
      throw new Error(strings.askFailed);
    }
    const reply = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(reply.error || strings.askFailed);
    return reply;
  }

  function conversationStarted(id) {
    conversationId = String(id);
    form.dataset.conversation = conversationId;
    history.replaceState(null, "", urlFor("conversation", id));
    htmx.ajax("GET", `${urls.conversations}?active=${id}`, { target: "#conversation-list", swap: "innerHTML" });
  }

  function questionBubble(text) {
    const bubble = document.createElement("div");
    bubble.className = "question";
    bubble.textContent = text;
    return bubble;
  }

  function answerBubble(id) {
    const bubble = document.createElement("article");
    bubble.className = "answer answer-streaming";
    bubble.id = `answer-${id}`;
    bubble.dataset.message = id;
    const body = document.createElement("div");
    body.className = "answer-text";
    const status = document.createElement("p");
    status.className = "status";
    status.setAttribute("role", "status");
    const text = document.createElement("p");
    text.className = "streaming-text";
    body.append(status, text);
    bubble.append(body);
    return bubble;
  }

  function stream(bubble, id, url) {
    const status = bubble.querySelector(".status");
    const text = bubble.querySelector(".streaming-text");
    status.textContent = strings.searching;
    const source = new EventSource(url);
    running = { id, source };
    setBusy(true);
    source.addEventListener("queued", (event) => {
      status.textContent = strings.queued.replace("{position}", JSON.parse(event.data).position);
    });
    source.addEventListener("passages", () => {
      status.textContent = strings.writing;
    });
    // What streams in is the model's draft, not yet checked against the passages: it is shown as
    // provisional, and replaced by the checked answer (or the passages) when "done" arrives.
    text.classList.add("provisional");
    source.addEventListener("checking", () => {
      status.textContent = strings.checking;
    });
    source.addEventListener("token", (event) => {
      const nearEnd = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 80;
      text.textContent += JSON.parse(event.data).text;
      if (nearEnd) scrollToEnd();
    });
    source.addEventListener("done", () => finish(bubble, id));
    source.addEventListener("error", (event) => {
      // The server's own "error" event carries the reason, already recorded on the answer; a
      // dropped connection has no data. EventSource would reconnect on its own, and a second
      // stream of the same answer is refused, so either way this stream ends here.
      source.close();
      if (event.data) finish(bubble, id);
      else connectionLost(bubble, id);
    });
  }

  function finish(bubble, id) {
    running?.source.close();
    running = null;
    htmx.ajax("GET", urlFor("answer", id), { target: bubble, swap: "outerHTML" }).finally(() => {
      setBusy(false);
      scrollToEnd();
    });
  }

  function connectionLost(bubble, id) {
    running = null;
    setBusy(false);
    const status = bubble.querySelector(".status") || bubble;
    status.textContent = `${strings.connectionLost} `;
    status.classList.add("error");
    const retry = document.createElement("button");
    retry.type = "button";
    retry.textContent = strings.retry;
    // The answer as the server has it now: finished, still going (it polls), or never started
    // (it streams again, see resumePending).
    retry.addEventListener("click", () => htmx.ajax("GET", urlFor("answer", id), { target: bubble, swap: "outerHTML" }));
    status.append(retry);
  }

  // An answer that was asked but never streamed (the page was reloaded or the connection dropped
  // first) is streamed when it appears, whether on page load or swapped in later.
  function resumePending(root) {
    const pending = root.matches?.("[data-stream]") ? [root] : [...root.querySelectorAll("[data-stream]")];
    for (const bubble of pending) {
      if (running) return;
      const url = bubble.dataset.stream;
      const fresh = answerBubble(bubble.dataset.message);
      bubble.replaceWith(fresh);
      stream(fresh, fresh.dataset.message, url);
    }
  }

  htmx.onLoad(resumePending);

  stopButton.addEventListener("click", async () => {
    if (!running) return;
    stopButton.disabled = true;
    const status = document.querySelector(`#answer-${running.id} .status`);
    if (status) status.textContent = strings.stopping;
    await fetch(urlFor("stop", running.id), {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken },
      credentials: "same-origin",
    }).catch(() => {});
  });

  // A citation chip loads its passage into the dialog (htmx), which opens once it has arrived.
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id === "passage-body" && !dialog.open) dialog.showModal();
  });

  // A fragment that fails to load (feedback, a passage, a rename) says so instead of doing nothing.
  document.body.addEventListener("htmx:responseError", () => {
    errorLine.textContent = strings.requestFailed;
  });
  document.body.addEventListener("htmx:sendError", () => {
    errorLine.textContent = strings.requestFailed;
  });

  messages.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const text = button.closest(".answer").querySelector(".answer-text").innerText.trim();
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      copyWithSelection(text);
    }
    button.textContent = strings.copied;
    setTimeout(() => (button.textContent = strings.copy), 2000);
  });

  // Clipboard access needs a secure context; a plain-http intranet address falls back to this.
  function copyWithSelection(text) {
    const scratch = document.createElement("textarea");
    scratch.value = text;
    document.body.append(scratch);
    scratch.select();
    document.execCommand("copy");
    scratch.remove();
  }

  scrollToEnd();
  if (!running) textarea.focus();
})();
