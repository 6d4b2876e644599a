// Fairgate report, HTML copy only: sortable and filterable group tables, scrollable wide tables
// and charts. Inlined by audit/report/html/render.py and allowed by its sha256 in the page's
// Content-Security-Policy; the PDF never carries it, and without it every table and chart is
// still there, in the report's order. It only moves rows, sets attributes and writes text with
// textContent: nothing from the report is ever parsed as HTML, and nothing is fetched.
// It must not contain the two characters that end a script element (a less-than sign and a slash).
(function () {
  "use strict";

  const GROUP_TABLES = "table.finding-table, table.metrics-table";
  const tables = Array.from(document.querySelectorAll(GROUP_TABLES));

  function el(tag, attributes, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      node.setAttribute(name, value);
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  // --- wide tables and charts scroll inside their own box, never the page -------------------
  function scrollBox(node, label) {
    const box = el("div", { class: "scroll-box", role: "region", "aria-label": label });
    node.parentNode.insertBefore(box, node);
    box.appendChild(node);
    return box;
  }

  const boxes = [];
  tables.concat(Array.from(document.querySelectorAll("table.data:not(.finding-table):not(.metrics-table)")))
    .forEach(function (table) {
      const caption = table.querySelector("caption");
      boxes.push(scrollBox(table, caption ? caption.textContent.trim().split("\n")[0] : "Table"));
    });
  const figures = Array.from(document.querySelectorAll("figure.chart"));

  // A scrolled box must be reachable from the keyboard; one that fits must not be a tab stop.
  function markScrollable() {
    boxes.concat(figures).forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
        box.classList.add("scrolls");
      } else {
        box.removeAttribute("tabindex");
        box.classList.remove("scrolls");
      }
    });
  }
  markScrollable();
  window.addEventListener("resize", markScrollable);

  if (!tables.length) {
    return;
  }

  // --- sorting: a button in every header; numbers sort by their data-sort value --------------
  const original = new Map(); // row -> its position in the report
  tables.forEach(function (table) {
    const body = table.tBodies[0];
    if (!body) {
      return;
    }
    Array.from(body.rows).forEach(function (row, i) {
      original.set(row, i);
    });
    const headers = Array.from(table.tHead ? table.tHead.rows[0].cells : []);
    headers.forEach(function (th, column) {
      const numeric = Array.from(body.rows).some(function (row) {
        return row.cells[column] && row.cells[column].hasAttribute("data-sort");
      });
      const button = el("button", { type: "button", class: "sort" });
      while (th.firstChild) {
        button.appendChild(th.firstChild);
      }
      // the arrow goes after the header's words, before its small second line (if any)
      button.insertBefore(el("span", { class: "sort-mark", "aria-hidden": "true" }), button.querySelector(".th-sub"));
      th.appendChild(button);
      button.addEventListener("click", function () {
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach(function (other) {
          other.removeAttribute("aria-sort");
        });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        sortRows(body, column, numeric, ascending);
      });
    });
  });

  function sortKey(row, column, numeric) {
    const cell = row.cells[column];
    if (!cell) {
      return null;
    }
    if (numeric) {
      const raw = cell.getAttribute("data-sort");
      const value = raw === null || raw === "" ? NaN : Number(raw);
      return Number.isFinite(value) ? value : null;
    }
    return cell.textContent.trim();
  }

  function sortRows(body, column, numeric, ascending) {
    const sign = ascending ? 1 : -1;
    const rows = Array.from(body.rows);
    rows.sort(function (a, b) {
      const x = sortKey(a, column, numeric);
      const y = sortKey(b, column, numeric);
      if (x === null || y === null) {
        // undefined values go last whichever the direction
        return x === y ? original.get(a) - original.get(b) : x === null ? 1 : -1;
      }
      const order = numeric ? x - y : x.localeCompare(y, undefined, { numeric: true, sensitivity: "base" });
      return order * sign || original.get(a) - original.get(b);
    });
    rows.forEach(function (row) {
      body.appendChild(row);
    });
  }

  // --- filtering: by group name, and only the groups outside a rule's limit ------------------
  const bar = el("div", { class: "explore-bar", role: "search", "aria-label": "Filter the group tables" });
  const search = el("input", { type: "search", id: "group-filter", autocomplete: "off", spellcheck: "false" });
  const searchLabel = el("label", { for: "group-filter" }, "Find a group");
  const outside = el("input", { type: "checkbox", id: "outside-only" });
  const outsideLabel = el("label", { for: "outside-only", class: "check" });
  outsideLabel.appendChild(outside);
  outsideLabel.appendChild(document.createTextNode(" Only groups outside a rule\u2019s limit"));
  const status = el("p", { class: "explore-status", role: "status", "aria-live": "polite" });
  const field = el("span", { class: "field" });
  field.appendChild(searchLabel);
  field.appendChild(search);
  bar.appendChild(field);
  bar.appendChild(outsideLabel);
  const contents = document.getElementById("contents");
  if (contents) {
    bar.appendChild(el("a", { href: "#contents", class: "to-contents" }, "Contents"));
  }
  bar.appendChild(status);
  const anchor = contents || tables[0].closest("section") || tables[0];
  anchor.parentNode.insertBefore(bar, contents ? contents.nextSibling : anchor);

  // one line under each table saying how many of its groups are shown
  const notes = new Map();
  tables.forEach(function (table) {
    const note = el("p", { class: "filter-note", hidden: "" });
    const box = table.parentNode;
    box.parentNode.insertBefore(note, box.nextSibling);
    notes.set(table, note);
  });

  function groupName(row) {
    const cell = row.querySelector(".col-group") || row.cells[0];
    return cell ? cell.textContent.toLocaleLowerCase() : "";
  }

  function applyFilter() {
    const query = search.value.trim().toLocaleLowerCase();
    const onlyOutside = outside.checked;
    let shown = 0;
    let total = 0;
    tables.forEach(function (table) {
      const judged = table.classList.contains("finding-table");
      let tableShown = 0;
      const rows = table.tBodies[0] ? Array.from(table.tBodies[0].rows) : [];
      rows.forEach(function (row) {
        const visible =
          (!query || groupName(row).includes(query)) && (!onlyOutside || !judged || row.hasAttribute("data-outside"));
        row.hidden = !visible;
        tableShown += visible ? 1 : 0;
      });
      shown += tableShown;
      total += rows.length;
      const note = notes.get(table);
      const filtered = tableShown !== rows.length;
      note.hidden = !filtered;
      note.textContent = !filtered
        ? ""
        : tableShown
          ? "Showing " + tableShown + " of " + rows.length + " groups (filtered)."
          : "No group of this table matches the filter (" + rows.length + " hidden).";
    });
    status.textContent =
      shown === total ? "" : "Showing " + shown + " of " + total + " group rows." +
        (onlyOutside ? " Group-metric tables are filtered by name only." : "");
    markScrollable();
  }

  search.addEventListener("input", applyFilter);
  outside.addEventListener("change", applyFilter);
  document.documentElement.classList.add("explore");
})();
