// derivkit's pages: send the form to the JSON API, lay the reply out, typeset it with KaTeX.
//
// Every page has one <form id="form" data-endpoint="NAME">. Its inputs travel in the query
// string (a page with its inputs is a link to share), and a page opened with inputs in its
// query string works them at once. Nothing here builds HTML from strings: every piece of the
// reply is put in the page as text, or typeset by KaTeX (which makes no links: trust is off).
"use strict";

(function () {
  const form = document.getElementById("form");
  if (!form) return;
  const endpoint = form.dataset.endpoint;
  const result = document.getElementById("result");
  const statusLine = document.getElementById("status");
  const button = document.getElementById("submit");

  // --- small helpers ---------------------------------------------------------------------

  function el(tag, className, ...children) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function tex(latex, display) {
    const node = el(display ? "div" : "span", display ? "math display" : "math");
    node.dataset.latex = latex;
    if (window.katex) {
      window.katex.render(latex, node, {
        displayMode: !!display, throwOnError: false, strict: "ignore", trust: false, output: "htmlAndMathml",
      });
    } else {
      node.textContent = latex;
    }
    return node;
  }

  // The blocks of a LaTeX rendering (align* environments and arrays separated by blank lines).
  function texBlocks(latex) {
    const box = el("div", "blocks");
    for (const block of latex.split(/\n\s*\n/)) {
      if (block.trim()) box.append(tex(block.trim(), true));
    }
    return box;
  }

  function say(text) {
    statusLine.textContent = text;
  }

  function copy(text, what) {
    const done = () => say(`Copied ${what}.`);
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text, done));
    } else {
      fallbackCopy(text, done);
    }
  }

  function fallbackCopy(text, done) {
    const area = el("textarea", "offscreen");
    area.value = text;
    document.body.append(area);
    area.select();
    try {
      document.execCommand("copy");
      done();
    } catch (err) {
      say("Copying is not allowed here: select the text instead.");
    }
    area.remove();
  }

  function copyButton(label, text, what) {
    const b = el("button", "copy", label);
    b.type = "button";
    b.addEventListener("click", () => copy(text, what));
    return b;
  }

  function short(value) {
    // "-0.10526275403392168..." -> "-0.105263"; exact values ("1/19") stay as they are.
    if (typeof value === "string" && /^-?\d+\.\d{7,}$/.test(value)) return Number(value).toPrecision(6);
    return String(value);
  }

  function point(map) {
    return Object.entries(map || {}).map(([k, v]) => `${k} = ${short(v)}`).join(", ");
  }

  // --- the form and the query string -------------------------------------------------------

  function fields() {
    return Array.from(form.elements).filter((input) => input.name);
  }

  function bodyFromForm() {
    const body = {};
    for (const input of fields()) {
      if (input.type === "checkbox") {
        body[input.name] = input.checked;
      } else if (input.type === "number") {
        if (input.value !== "") body[input.name] = Number(input.value);
      } else if (input.tagName === "TEXTAREA") {
        const lines = input.value.split("\n").map((s) => s.trim()).filter(Boolean);
        if (lines.length) body[input.name] = lines;
      } else if (input.value.trim() !== "") {
        body[input.name] = input.value.trim();
      }
    }
    return body;
  }

  // The query string of the form: the fields that differ from the page's defaults.
  function queryFromForm() {
    const query = new URLSearchParams();
    for (const input of fields()) {
      if (input.type === "checkbox") {
        if (input.checked !== input.defaultChecked) query.set(input.name, input.checked ? "1" : "0");
      } else if (input.tagName === "SELECT") {
        const chosen = input.selectedOptions[0];
        if (chosen && !chosen.defaultSelected) query.set(input.name, input.value);
      } else if (input.value.trim() !== input.defaultValue.trim()) {
        query.set(input.name, input.value.trim());
      }
    }
    return query.toString();
  }

  // Fill the form from the query string; true when it named a field.
  function fillForm(query) {
    form.reset();
    let any = false;
    for (const input of fields()) {
      if (!query.has(input.name)) continue;
      const value = query.get(input.name);
      any = true;
      if (input.type === "checkbox") input.checked = value === "1" || value === "true";
      else input.value = value;
      if (input.closest("details") && input.type !== "checkbox" && value) input.closest("details").open = true;
    }
    return any;
  }

  // --- talking to the API ------------------------------------------------------------------

  async function work(body) {
    say("Working…");
    button.disabled = true;
    result.setAttribute("aria-busy", "true");
    let reply;
    let data;
    try {
      reply = await fetch(`/api/${endpoint}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      data = await reply.json();
    } catch (err) {
      show(errorBox(0, { error: "The server could not be reached, or answered something that is not JSON." }), body);
      say("");
      return;
    } finally {
      button.disabled = false;
      result.removeAttribute("aria-busy");
    }
    if (!reply.ok) {
      show(errorBox(reply.status, data), body);
      say("");
      return;
    }
    show(RENDER[endpoint](data, body), body, data);
    say("");
  }

  // The budgets' names, in words (derivkit.budget names the time limit "seconds").
  const LIMIT_WORDS = { seconds: "time", size: "size of the request" };

  function errorBox(status, data) {
    const limit = data.limit ? ` (${LIMIT_WORDS[data.limit] || data.limit})` : "";
    const titles = {
      400: "That input could not be read",
      422: `Stopped at a limit of this server${limit}`,
      501: "Not available here",
      503: "The server is busy",
    };
    return el("div", "error",
      el("h2", null, titles[status] || "Something went wrong"),
      el("pre", "message", data.error || "no explanation was given"));
  }

  function show(content, body, data) {
    result.replaceChildren(content);
    if (data && data.rendered) {
      const tools = el("div", "tools");
      if (data.rendered.latex) tools.append(copyButton("Copy as LaTeX", data.rendered.latex, "the LaTeX"));
      if (data.rendered.text) tools.append(copyButton("Copy as text", data.rendered.text, "the text"));
      result.append(tools);
      if (data.rendered.text) {
        result.append(el("details", "as-text", el("summary", null, "As text"), el("pre", null, data.rendered.text)));
      }
    }
    const request = JSON.stringify(body, null, 2);
    const curl = `curl -s ${location.origin}/api/${endpoint} -H 'Content-Type: application/json' -d '${JSON.stringify(body).replace(/'/g, "'\\''")}'`;
    result.append(el("details", "as-json",
      el("summary", null, "This request in the JSON API"),
      el("pre", null, `POST /api/${endpoint}\n${request}`),
      el("pre", null, curl)));
  }

  // --- laying out the replies ----------------------------------------------------------------

  function steps(outline) {
    const box = el("div", "steps");
    for (const row of outline) {
      const step = el("div", "step",
        el("div", "head",
          el("span", "num", `${row.number}.`), " ",
          el("span", "rule", row.rule_name), ": ",
          tex(row.equation_latex)));
      step.dataset.rule = row.rule;
      step.style.setProperty("--depth", String(row.depth));
      for (const [name, value] of row.let) {
        step.append(el("div", "let", "Let ", tex(`${name} = ${value}`), "."));
      }
      if (row.sentence) step.append(el("div", "sentence", row.sentence));
      box.append(step);
    }
    return box;
  }

  function notesOf(derivation) {
    const seen = new Set(derivation.notes || []);
    (function walk(step) {
      for (const n of step.notes || []) seen.add(n);
      for (const s of step.substeps || []) walk(s);
    })(derivation.steps || {});
    return Array.from(seen);
  }

  function derivation(data, outline) {
    const box = el("div", "derivation");
    const order = data.order === 1 ? "" : ` (order ${data.order})`;
    box.append(el("p", "problem", "Differentiate ", tex(data.steps.expr_latex), ` with respect to ${data.wrt}${order}:`));
    box.append(steps(outline));
    const notes = notesOf(data);
    if (notes.length) {
      box.append(el("div", "notes", el("h3", null, "Notes"), el("ul", null, ...notes.map((n) => el("li", null, n)))));
    }
    box.append(el("div", "result-line", el("span", "label", "Result"), tex(outline[0].equation_latex, true)));
    return box;
  }

  const RENDER = {
    derive(data) {
      const box = derivation(data, data.rendered.outline);
      if (data.value !== undefined) {
        box.append(el("div", "value-line", el("span", "label", `At ${point(data.at)}`), tex(data.value_latex, true)));
      }
      return box;
    },

    check(data) {
      const r = data.rendered;
      const box = el("div", "verdict " + (data.ok ? "ok" : "wrong"));
      box.append(el("p", "banner", data.ok ? "Right." : "Not right."));
      box.append(el("p", "message", data.message));
      if (r.claimed_latex || r.expected_latex) {
        const table = el("table", "compare");
        if (r.claimed_latex) table.append(el("tr", null, el("th", null, "Your answer"), el("td", null, tex(r.claimed_latex))));
        if (r.expected_latex) table.append(el("tr", null, el("th", null, "Correct"), el("td", null, tex(r.expected_latex))));
        box.append(table);
      }
      const ce = data.counterexample;
      if (ce && !data.ok) {
        const where = ce.iteration ? `iteration ${ce.iteration}` : `at ${point(ce.point)}`;
        box.append(el("p", "counterexample", `Counterexample, ${where}: correct ${short(ce.expected)}, yours ${short(ce.claimed)}`));
      }
      if (data.findings && data.findings.length) {
        box.append(el("div", "diagnosis", el("h3", null, "Diagnosis"),
          el("ul", null, ...data.findings.map((f) => el("li", null, el("code", null, f.id), ": ", f.message)))));
      }
      if (r.outline) {
        box.append(el("h3", null, data.ok ? "The derivation" : "The correct derivation"));
        box.append(derivation(data.derivation, r.outline));
      } else if (r.latex && data.kind === "descent") {
        box.append(texBlocks(r.latex));
      }
      return box;
    },

    chain(data) {
      const box = el("div", "chain");
      const chain = data.chain || data;
      const latexOf = Object.fromEntries((chain.factors || []).map((f) => [f.label, f.derivation.result_latex]));
      if (data.values) {
        const forward = el("table", "grid", el("tr", null, el("th", null, "name"), el("th", null, "value")));
        for (const [name, value] of Object.entries(data.values)) forward.append(el("tr", null, el("td", null, name), el("td", null, short(value))));
        box.append(el("h3", null, "Forward pass"), forward);
      }
      if (chain.factors) {
        const head = el("tr", null, el("th", null, "factor"), el("th", null, "local derivative"), data.values ? el("th", null, "value") : null);
        const table = el("table", "grid factors", head);
        const values = Object.fromEntries(data.values ? data.factors : []);
        for (const f of chain.factors) {
          table.append(el("tr", null, el("td", null, f.label), el("td", null, tex(latexOf[f.label])),
            data.values ? el("td", null, short(values[f.label])) : null));
        }
        box.append(el("h3", null, "Local derivatives, in chain order"), table);
      }
      box.append(el("h3", null, "Worked"), texBlocks(data.rendered.latex));
      return box;
    },

    descend(data) {
      const r = data.rendered;
      const box = el("div", "descent");
      if (data.diverged) box.append(el("p", "banner warn", `Diverged: ${data.reason}`));
      box.append(texBlocks(r.latex));
      if (r.plot) {
        const img = el("img", "plot");
        img.alt = `Gradient descent on f = ${data.f}: the iterates drawn on the function`;
        img.src = "data:image/svg+xml;base64," + btoa(unescape(encodeURIComponent(r.plot)));
        box.append(el("figure", null, img));
      } else if (r.plot_note) {
        box.append(el("p", "note", r.plot_note));
      }
      return box;
    },

    backprop(data) {
      const r = data.rendered;
      const box = el("div", "backprop");
      if (data.graph && data.chains && data.gradients) {
        const rows = (defs) => {
          const table = el("table", "grid defs");
          for (const d of defs) table.append(el("tr", null, el("td", "name", d.name), el("td", null, tex(`= ${d.latex}`)), el("td", "shape", d.shape)));
          return table;
        };
        box.append(el("h3", null, "Forward pass"), rows(data.graph.definitions));
        if (data.definitions.length) box.append(el("h3", null, "Backward pass (the gradient arriving at each layer)"), rows(data.definitions));
        for (const [param, chain] of Object.entries(data.chains)) {
          const grad = data.gradients[param];
          const label = `∂${data.loss}/∂${param}`;
          const section = el("section", "param", el("h3", null, label, " ", el("span", "shape", `(${grad.shape})`)));
          section.dataset.param = param;
          if (chain.length) {
            section.append(el("p", "chainline", `${label} = ${chain.map((f) => f.label).join(" · ")}`));
            const table = el("table", "grid factors");
            for (const f of chain) {
              const how = f.how === "loss" ? "where the gradient starts" : `G ↦ ${f.vjp}`;
              table.append(el("tr", f.zero ? "zero" : null, el("td", "name", f.label), el("td", null, tex(`= ${f.local_latex}`)),
                el("td", "shape", f.shape), el("td", "how", how + (f.fused ? " (fused)" : ""))));
            }
            section.append(table);
          }
          section.append(el("p", "so", `so ${label} = `, tex(grad.latex)));
          box.append(section);
        }
      } else {
        box.append(texBlocks(r.latex));
      }
      if (r.code) {
        box.append(el("h3", null, "The generated NumPy code"));
        box.append(el("div", "tools", copyButton("Copy the code", r.code, "the code")));
        box.append(el("pre", "code", el("code", null, r.code)));
      }
      return box;
    },

    exercises(data) {
      const box = el("div", "exercises");
      data.exercises.forEach((ex, i) => {
        const item = el("section", "exercise", el("h3", null, `Exercise ${i + 1}`));
        const text = ex.rendered.text.split(/\n\s*\n/);
        item.append(el("pre", "problem", text[0]));
        item.append(el("details", "solution", el("summary", null, "Worked solution"),
          texBlocks(ex.rendered.latex), el("pre", null, text.slice(1).join("\n\n"))));
        box.append(item);
      });
      return box;
    },
  };

  // --- wiring ---------------------------------------------------------------------------------

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = queryFromForm();
    if (`?${query}` !== location.search) history.pushState(null, "", `?${query}`);
    work(bodyFromForm());
  });

  window.addEventListener("popstate", () => {
    if (fillForm(new URLSearchParams(location.search))) work(bodyFromForm());
    else result.replaceChildren();
  });

  // Opened with inputs, or with nothing to fill in (every field has a default): work at once.
  const query = new URLSearchParams(location.search);
  const filled = fillForm(query);
  if ((filled || !form.querySelector("[required]")) && form.checkValidity()) work(bodyFromForm());
})();
