/* Loyalty Admin behaviour: charts, pickers, "select all". Loaded on every page; no inline JS. */
(function () {
  "use strict";

  function initCharts(root) {
    if (typeof Chart === "undefined") return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.ready) return;
      // Data from a json_script block, or inline in data-chart-data (htmx drops <script>
      // elements from swapped content, so partials carry their data in the attribute).
      var source = canvas.dataset.chartSource && document.getElementById(canvas.dataset.chartSource);
      var text = source ? source.textContent : canvas.dataset.chartData;
      if (!text) return;
      var data = JSON.parse(text);
      var kind = canvas.dataset.chart;
      canvas.dataset.ready = "1";
      // One series ({labels, values, colours}) or several ({labels, datasets: [{label, values, colour}]}).
      var datasets = data.datasets ? data.datasets.map(function (set) {
        return { label: set.label, data: set.values, backgroundColor: set.colour, borderWidth: 0 };
      }) : [kind === "line" ? {
        data: data.values,
        borderColor: "#0d6efd",
        backgroundColor: "#0d6efd",
        borderWidth: 2,
        tension: 0
      } : {
        data: data.values,
        backgroundColor: data.colours || "#0d6efd",
        borderWidth: kind === "doughnut" ? 1 : 0
      }];
      new Chart(canvas, {
        type: kind,
        data: { labels: data.labels, datasets: datasets },
        options: {
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { display: kind === "doughnut" || datasets.length > 1, position: kind === "doughnut" ? "right" : "top" } },
          scales: kind === "bar" || kind === "line" ? { x: { ticks: { maxTicksLimit: 9 } }, y: { beginAtZero: true, ticks: { precision: 0 } } } : {}
        }
      });
    });
  }

  function initPickers(root) {
    if (typeof TomSelect === "undefined") return;
    root.querySelectorAll("select[data-picker]").forEach(function (select) {
      if (select.tomselect) return;
      var settings = {
        plugins: ["remove_button"],
        maxOptions: 500,
        onChange: function () { select.dispatchEvent(new Event("change", { bubbles: true })); }
      };
      var url = select.dataset.optionsUrl;
      if (url) {
        // Options load as the user types; only the chosen ones are in the page.
        settings.valueField = "value";
        settings.labelField = "text";
        settings.searchField = ["text"];
        settings.preload = "focus";
        settings.load = function (query, callback) {
          fetch(url + "?q=" + encodeURIComponent(query), { headers: { "Accept": "application/json" } })
            .then(function (response) { return response.ok ? response.json() : { results: [] }; })
            .then(function (data) { callback(data.results); })
            .catch(function () { callback(); });
        };
      }
      new TomSelect(select, settings);
      // The hidden original keeps a name for assistive technology: the label Tom Select moved.
      var label = select.id && document.getElementById(select.id + "-ts-label");
      if (label) select.setAttribute("aria-labelledby", label.id);
    });
  }

  function resultCount() {
    var count = document.querySelector("[data-testid=result-count]");
    return count ? count.textContent.trim().replace(/\s+/g, " ") : "";
  }

  function initSelectAll(root) {
    root.querySelectorAll("input[data-select-all]").forEach(function (box) {
      if (box.dataset.ready) return;
      box.dataset.ready = "1";
      box.addEventListener("change", function () {
        var table = box.closest("table");
        table.querySelectorAll("input[name=ids]").forEach(function (row) { row.checked = box.checked; });
        // A whole page ticked: offer every matching customer (the bulk bar's "All matching").
        var offer = document.querySelector("[data-select-matching]");
        if (offer) {
          var chooser = offer.querySelector("[data-choose-all]");
          if (!chooser.hidden) chooser.textContent = chooser.dataset.label.replace("{count}", resultCount());
          offer.hidden = !box.checked;
        }
      });
    });
    root.querySelectorAll("[data-choose-all]").forEach(function (button) {
      if (button.dataset.ready) return;
      button.dataset.ready = "1";
      button.addEventListener("click", function () {
        var scope = document.querySelector("#bulk-form select[name=scope]");
        if (scope) scope.value = "all";
        var offer = button.closest("[data-select-matching]");
        offer.querySelector("[data-select-matching-text]").textContent =
          button.dataset.chosenText.replace("{count}", resultCount());
        button.hidden = true;
      });
    });
  }

  // A form with data-confirm asks before it is sent (bulk decisions people cannot undo).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute && form.hasAttribute("data-confirm") && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // Forms outside the live results (save a view, save as a tag) carry the filter in a hidden
  // "query" field; the filter may have changed since the page loaded, so take it from the
  // address bar (htmx keeps it current) when the form is sent.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-keep-query")) return;
    var params = new URLSearchParams(window.location.search);
    ["page", "after", "before", "rule_for"].forEach(function (name) { params.delete(name); });
    var field = form.querySelector("input[name=query]");
    if (field) field.value = params.toString();
  });

  // The filter panel folds away for a wider table; the choice is kept in this browser.
  function initFilterToggle(root) {
    var button = root.querySelector("[data-toggle-filters]");
    var layout = document.querySelector("[data-filters-layout]");
    if (!button || !layout || button.dataset.ready) return;
    button.dataset.ready = "1";
    function show(hidden) {
      layout.classList.toggle("filters-hidden", hidden);
      button.setAttribute("aria-expanded", hidden ? "false" : "true");
    }
    show(window.localStorage.getItem("loyalty.filtersHidden") === "1");
    button.addEventListener("click", function () {
      var hidden = !layout.classList.contains("filters-hidden");
      window.localStorage.setItem("loyalty.filtersHidden", hidden ? "1" : "0");
      show(hidden);
    });
  }

  // Parts of a form that apply to one choice only: data-shown-when="field=value value2" shows
  // the element while the field named `field` holds one of the values (the rest stay submitted).
  function initShownWhen(root) {
    root.querySelectorAll("[data-shown-when]").forEach(function (part) {
      if (part.dataset.shownReady) return;
      part.dataset.shownReady = "1";
      var rule = part.dataset.shownWhen.split("=");
      var form = part.closest("form");
      var wanted = rule[1].split(" ");
      function update() {
        var control = form.elements[rule[0]];
        if (!control) return;
        var value = control.type === "checkbox" ? (control.checked ? "on" : "") : control.value;
        part.hidden = wanted.indexOf(value) === -1;
      }
      form.addEventListener("change", update);
      update();
    });
  }

  function init(root) {
    initShownWhen(root);
    initFilterToggle(root);
    initCharts(root);
    initPickers(root);
    initSelectAll(root);
  }

  // Live filters send only the fields that hold something, so the pushed URL stays short
  // enough to read, bookmark and share ("?q=mai&rank=2", not every empty field).
  document.addEventListener("htmx:configRequest", function (event) {
    var data = event.detail.formData;
    if (event.detail.verb !== "get" || !data) return;
    Array.from(new Set(data.keys())).forEach(function (key) {
      if (data.getAll(key).every(function (value) { return value === ""; })) data.delete(key);
    });
  });

  // htmx leaves error answers unswapped, so a refused action would fail silently. A 400, 409
  // or 422 carries the form or block with its errors: swap it like a success. Other errors
  // (403, 404, 5xx, no answer) are said in the page's messages area.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 400 || status === 409 || status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  function say(kind) {
    var area = document.getElementById("messages");
    if (!area) return;
    var alert = document.createElement("div");
    alert.className = "alert alert-danger alert-dismissible fade show";
    alert.setAttribute("role", "alert");
    alert.textContent = area.dataset["error" + kind] || area.dataset.errorOther;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("data-bs-dismiss", "alert");
    close.setAttribute("aria-label", area.dataset.closeLabel || "Close");
    alert.appendChild(close);
    area.appendChild(alert);
  }

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    if (status === 400 || status === 409 || status === 422) return;  // swapped above
    say(status === 403 ? "Forbidden" : status === 404 ? "Missing" : "Other");
  });
  document.addEventListener("htmx:sendError", function () { say("Offline"); });

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  // After any htmx swap (outerHTML swaps replace their target, so look at the whole page;
  // every initialiser skips what it has already set up).
  document.addEventListener("htmx:afterSettle", function () { init(document); });
})();
