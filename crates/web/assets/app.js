// Loaded (deferred) on every page before the page's own scripts: the CSRF token for htmx and fetch(), the one
// HTML-escaping helper, and the few behaviours the templates ask for with data-* attributes. The
// Content-Security-Policy (crates/web/src/security.rs) allows no inline script and no on…= handler, so the
// templates declare what they want and this file does it.
(function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute('content') : '';
  window.qingshanCsrf = token;
  document.addEventListener('htmx:configRequest', function (event) {
    if (token) { event.detail.headers['X-CSRF-Token'] = token; }
  });

  // Text → HTML that shows it as text. Every value that reaches HTML built in script (ECharts tooltip
  // formatters, whose result is set as innerHTML) goes through this: names are typed by users (a street
  // officer renames an enterprise), and a name must never become markup in someone else's session.
  var entities = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  window.escapeHtml = function (value) {
    return value === null || value === undefined ? '' : String(value).replace(/[&<>"']/g, function (c) { return entities[c]; });
  };

  // <select data-autosubmit>: choosing an option submits its form (the year pickers).
  document.addEventListener('change', function (event) {
    var el = event.target;
    if (el && el.matches && el.matches('[data-autosubmit]') && el.form) { el.form.submit(); }
  });
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!form || !form.matches) { return; }
    // <form data-confirm="…">: asks before a destructive post.
    var question = form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) { event.preventDefault(); return; }
    // <form data-goto="/path/{field}">: opens the path with the field's value instead of submitting.
    var target = form.getAttribute('data-goto');
    if (target) {
      event.preventDefault();
      window.location.href = target.replace(/\{(\w+)\}/g, function (_, name) {
        var field = form.elements[name];
        return encodeURIComponent(field ? field.value : '');
      });
    }
  });
  document.addEventListener('click', function (event) {
    // <button data-nav-toggle>: the 菜单 button of the top bar on a phone opens and closes the navigation.
    var toggle = event.target && event.target.closest ? event.target.closest('[data-nav-toggle]') : null;
    if (toggle) {
      var bar = toggle.closest('.topbar');
      var open = bar ? bar.classList.toggle('nav-open') : false;
      toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
      return;
    }
    var el = event.target && event.target.closest ? event.target.closest('[data-print],[data-back]') : null;
    if (!el) { return; }
    if (el.hasAttribute('data-print')) { event.preventDefault(); window.print(); }
    // <a href="/" data-back>: back to the previous page when there is one (the link's href otherwise).
    if (el.hasAttribute('data-back') && window.history.length > 1) { event.preventDefault(); window.history.back(); }
  });

  // Tables on a phone (app.css): a list table (a header row, one record a row) is marked `cards` and each cell
  // gets its column's header in data-label (a cell spanning columns none); a table of figures
  // read across is marked `wide` (it scrolls in its own box). Tables htmx swaps in are handled as they arrive; a
  // page that builds a table in script calls window.qingshanLabelTables(table).
  var READ_ACROSS = 'table.wide, table.ranking, #audit-table, #section-table, #coverage, #exceedances';
  function labelTables(root) {
    var tables = root.querySelectorAll ? Array.prototype.slice.call(root.querySelectorAll('table.list')) : [];
    if (root.matches && root.matches('table.list')) { tables = [root]; }
    tables.forEach(function (table) {
      if (table.matches(READ_ACROSS)) { table.classList.add('wide'); return; }
      var head = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
      if (!head) { return; }
      table.classList.add('cards');
      var labels = [];
      Array.prototype.forEach.call(head.cells, function (cell) {
        var span = cell.colSpan || 1;
        for (var i = 0; i < span; i += 1) { labels.push(i === 0 ? cell.textContent.trim() : ''); }
      });
      Array.prototype.forEach.call(table.tBodies, function (body) {
        Array.prototype.forEach.call(body.rows, function (row) {
          var column = 0;
          Array.prototype.forEach.call(row.cells, function (cell) {
            // A cell across several columns (a row's edit form, a "none yet" line) is no one column's.
            var label = (cell.colSpan || 1) > 1 ? '' : labels[column] || '';
            if (!cell.hasAttribute('data-label')) { cell.setAttribute('data-label', label); }
            column += cell.colSpan || 1;
          });
        });
      });
    });
  }
  window.qingshanLabelTables = labelTables;
  function labelAll() { labelTables(document); }
  if (document.readyState !== 'loading') { labelAll(); } else { document.addEventListener('DOMContentLoaded', labelAll); }
  document.addEventListener('htmx:afterSwap', function (event) { labelTables(event.target); });
})();
