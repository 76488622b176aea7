/* cruxfit what-if panel. Reads the JSON in #whatif-data (built by reports/whatif.py) and
   recomputes every approach's expected value at the credences the sliders set, exactly:
   each approach's value is multilinear in the beliefs it depends on, so it is the
   interpolation of its values at the yes/no corners (the table), done one belief at a time
   in the same order as cruxfit.models.whatif.interpolate. No network, no external code. */
(function () {
  "use strict";
  var root = document.getElementById("whatif");
  var dataNode = document.getElementById("whatif-data");
  if (!root || !dataNode) { return; }
  var data = JSON.parse(dataNode.textContent);

  function decode(b64) {
    var bin = atob(b64), n = bin.length / 8, view = new DataView(new ArrayBuffer(bin.length));
    for (var i = 0; i < bin.length; i++) { view.setUint8(i, bin.charCodeAt(i)); }
    var out = new Float64Array(n);
    for (var j = 0; j < n; j++) { out[j] = view.getFloat64(8 * j, true); }
    return out;
  }

  var tables = data.tables.map(function (t) {
    var values = decode(t.values);
    return { vars: t.variables, values: values, work: new Float64Array(values.length) };
  });
  var A = data.approaches.length, V = data.variables.length;
  var targetIndex = -1;
  data.approaches.forEach(function (a, i) { if (a.slug === data.target) { targetIndex = i; } });

  /* Expected value of every approach at credences theta (array of V numbers). */
  function expectedValues(theta) {
    var out = new Array(A);
    for (var a = 0; a < A; a++) {
      var t = tables[a], w = t.work, len = t.values.length;
      w.set(t.values);
      for (var j = t.vars.length - 1; j >= 0; j--) {
        var x = theta[t.vars[j]], half = len >> 1;
        for (var i = 0; i < half; i++) { w[i] = w[i] * (1 - x) + w[i + half] * x; }
        len = half;
      }
      out[a] = w[0];
    }
    return out;
  }
  window.cruxfitWhatIf = { expectedValues: expectedValues, data: data };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function pct(x) { return (100 * Math.min(1, Math.max(0, x))) + "%"; }
  function fmt(x, nd) { return (Math.abs(x) < 0.5 * Math.pow(10, -nd) ? 0 : x).toFixed(nd); }

  /* ---------------------------------------------------------------- sliders */
  var form = document.getElementById("whatif-sliders");
  form.addEventListener("submit", function (ev) { ev.preventDefault(); });
  var start = data.variables.map(function (v) { return v.mean; });
  var theta = start.slice();
  var ranges = [], numbers = [];
  data.variables.forEach(function (v, k) {
    var row = el("div", "whatif-var");
    row.id = "whatif-var-" + v.id;
    var id = "whatif-in-" + v.id;
    var label = el("label", "whatif-name", v.name);
    label.htmlFor = id;
    if (v.proposition) { label.title = v.proposition; }
    var number = el("input", "whatif-number");
    number.type = "number"; number.min = "0"; number.max = "1"; number.step = "any";
    number.value = String(v.mean);
    number.setAttribute("aria-label", v.name + " (credence from 0 to 1)");
    number.dataset.variable = v.id;
    var head = el("div", "whatif-head");
    head.appendChild(label); head.appendChild(number);
    var range = el("input", "whatif-range");
    range.type = "range"; range.min = "0"; range.max = "1"; range.step = "0.001";
    range.id = id; range.value = String(v.mean);
    range.dataset.variable = v.id;
    var track = el("div", "whatif-track");
    track.setAttribute("aria-hidden", "true");
    var band = el("span", "whatif-band");
    band.style.left = pct(v.hdi[0]);
    band.style.width = pct(v.hdi[1] - v.hdi[0]);
    band.title = "90% interval: " + fmt(v.hdi[0], 2) + " to " + fmt(v.hdi[1], 2);
    track.appendChild(band);
    var mean = el("span", "whatif-mean");
    mean.style.left = pct(v.mean);
    mean.title = "your credence now: " + fmt(v.mean, 2);
    track.appendChild(mean);
    var notes = [];
    v.switches.forEach(function (s) {
      var m = el("span", "whatif-switch whatif-switch-" + s.kind);
      m.style.left = pct(s.credence);
      m.title = s.text;
      m.dataset.credence = String(s.credence);
      track.appendChild(m);
      notes.push(s.text);
    });
    var slider = el("div", "whatif-slider");
    slider.appendChild(range); slider.appendChild(track);
    row.appendChild(head); row.appendChild(slider);
    var desc = el("p", "whatif-notes",
      "90% interval " + fmt(v.hdi[0], 2) + " to " + fmt(v.hdi[1], 2) +
      (notes.length ? ". Switching values: " + notes.join("; ") + "." : ". No switching value in 0 to 1."));
    desc.id = id + "-notes";
    range.setAttribute("aria-describedby", desc.id);
    row.appendChild(desc);
    form.appendChild(row);
    range.addEventListener("input", function () {
      theta[k] = parseFloat(range.value); number.value = range.value; update();
    });
    number.addEventListener("input", function () {
      var x = parseFloat(number.value);
      if (!isFinite(x) || x < 0 || x > 1) { number.classList.add("invalid"); return; }
      number.classList.remove("invalid");
      theta[k] = x; range.value = String(x); update();
    });
    ranges.push(range); numbers.push(number);
  });

  /* ---------------------------------------------------------------- results */
  var tbody = document.querySelector("#whatif-table tbody");
  var summary = document.getElementById("whatif-summary");
  var verdictLine = document.getElementById("whatif-verdict");
  var timing = document.getElementById("whatif-timing");
  var base = expectedValues(start);
  var rows = data.approaches.map(function (a, i) {
    var tr = el("tr");
    tr.dataset.slug = a.slug;
    if (i === targetIndex) { tr.className = "target"; }
    var rank = el("td", "rank"), name = el("td", "name", a.name);
    var value = el("td", "num value"), delta = el("td", "num delta");
    var barCell = el("td", "bar-col"), bar = el("span", "whatif-bar");
    barCell.appendChild(bar);
    [rank, name, value, delta, barCell].forEach(function (c) { tr.appendChild(c); });
    return { tr: tr, rank: rank, value: value, delta: delta, bar: bar };
  });
  function order(values) {
    var idx = values.map(function (_, i) { return i; });
    idx.sort(function (a, b) {
      return values[b] - values[a] ||
        (data.approaches[a].slug < data.approaches[b].slug ? -1 : 1);
    });
    return idx;
  }
  var baseOrder = order(base);
  var baseRank = baseOrder.indexOf(targetIndex) + 1;

  /* The verdict rules of the run; the parts that depend on the expected-value ranking alone
     are checked here, the parts that need the sampler's probabilities are named, not faked. */
  var evKeys = { rank_max: "rank", ev_rank_max: "rank", expected_value_rank_max: "rank",
                 margin_min: "margin", ev_margin_min: "margin" };
  function evVerdict(rank, margin) {
    /* The first rule, in order, whose expected-value conditions hold. A rule that also
       needs the sampler's probabilities is returned with needsChances set; a rule with
       probability conditions only cannot be decided here, so the search stops there. */
    var rules = (data.verdict && data.verdict.thresholds) || [];
    var anyEv = rules.some(function (r) {
      return Object.keys(r).some(function (k) { return k in evKeys; });
    });
    if (!anyEv) { return null; }
    for (var i = 0; i < rules.length; i++) {
      var r = rules[i], ok = true, ev = false, chances = false;
      Object.keys(r).forEach(function (k) {
        if (k in evKeys && r[k] !== null && r[k] !== undefined) {
          ev = true;
          if (evKeys[k] === "rank" && rank > r[k]) { ok = false; }
          if (evKeys[k] === "margin" && margin < r[k]) { ok = false; }
        } else if (/^p_.*_min$/.test(k) && r[k]) {
          chances = true;
        }
      });
      if (!ev && chances) { return null; }
      if (ok) { return { label: r.label, needsChances: chances }; }
    }
    return null;
  }

  function update() {
    var t0 = performance.now();
    var values = expectedValues(theta);
    var idx = order(values);
    var max = 0;
    values.forEach(function (x) { max = Math.max(max, Math.abs(x)); });
    idx.forEach(function (a, r) {
      var row = rows[a];
      row.rank.textContent = String(r + 1);
      row.value.textContent = fmt(values[a], 3);
      row.tr.dataset.value = String(values[a]);
      row.tr.dataset.rank = String(r + 1);
      var d = values[a] - base[a];
      row.delta.textContent = (d > 0.0005 ? "+" : "") + fmt(d, 3);
      row.delta.className = "num delta" + (d > 0.0005 ? " up" : d < -0.0005 ? " down" : "");
      row.bar.style.width = max > 0 ? pct(Math.abs(values[a]) / max) : "0%";
      row.bar.className = "whatif-bar" + (values[a] < 0 ? " negative" : "");
      tbody.appendChild(row.tr);
    });
    var top = data.approaches[idx[0]];
    var rank = idx.indexOf(targetIndex) + 1;
    var best = idx[0] === targetIndex ? idx[1] : idx[0];
    var margin = values[targetIndex] - values[best];
    var targetName = data.approaches[targetIndex].name;
    summary.textContent = "Highest expected value: " + top.name + ". " + targetName +
      " ranks " + rank + " of " + A + " by expected value (at your own credences: " +
      baseRank + "), " + (margin >= 0 ? "ahead of " : "behind ") +
      data.approaches[best].name + " by " + fmt(Math.abs(margin), 3) + ".";
    summary.dataset.top = top.slug;
    summary.dataset.targetRank = String(rank);
    var found = evVerdict(rank, margin);
    var label = found ? found.label : "";
    var now = data.verdict && data.verdict.label;
    if (found) {
      verdictLine.textContent = "Verdict from the expected-value ranking here: " + label +
        (found.needsChances ? ", if the chances of ranking first and in the top three also " +
         "clear its thresholds" : "") + (now ? " (your report: " + now + ")." : ".");
    } else {
      verdictLine.textContent = (now ? "Your report's verdict: " + now + ". " : "") +
        "The verdict also weighs how sure the ranking is (the chances of ranking first and " +
        "in the top three), which needs the full model run; the ranking above is its " +
        "expected-value part.";
    }
    verdictLine.dataset.label = label || "";
    var ms = performance.now() - t0;
    timing.textContent = "updated in " + (ms < 1 ? "<1" : ms.toFixed(0)) + " ms";
    root.dataset.lastMs = String(ms);
    root.dataset.theta = JSON.stringify(theta);
  }

  document.getElementById("whatif-reset").addEventListener("click", function () {
    theta = start.slice();
    ranges.forEach(function (r, k) { r.value = String(start[k]); numbers[k].value = String(start[k]); });
    numbers.forEach(function (n) { n.classList.remove("invalid"); });
    update();
  });
  root.classList.add("whatif-ready");
  update();
})();
