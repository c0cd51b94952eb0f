// Pickers (kernel::picker, templates/picker.html): a text field whose <datalist> offers records by name, and
// a hidden field for the chosen record's id. As the user types, the list is refreshed from the field's list
// API (data-picker, searched with ?q=); choosing an entry fills the hidden id, typing anything else clears it
// (the server then resolves the text itself, as it does when this script does not run). Every picker includes
// this file, so it guards against running twice.
(function () {
  if (window.qingshanPicker) { return; }
  window.qingshanPicker = true;

  function hiddenOf(input) {
    var form = input.form;
    var name = input.getAttribute('data-picker-id');
    return form && name ? form.querySelector('input[type="hidden"][name="' + name + '"]') : null;
  }
  function listOf(input) { return input.list || document.getElementById(input.getAttribute('list')); }
  function labelOf(item, fields) {
    return fields.split(' ').map(function (f) { return item[f] === undefined || item[f] === null ? '' : String(item[f]); })
      .filter(function (t) { return t !== ''; }).join(' ');
  }
  // The hidden id follows the text: the id of the entry whose label it is, or nothing. True when it matched.
  function sync(input) {
    var hidden = hiddenOf(input), list = listOf(input);
    if (!hidden || !list) { return false; }
    var match = Array.prototype.find.call(list.options, function (o) { return o.value === input.value; });
    hidden.value = match ? match.getAttribute('data-id') : '';
    return !!match;
  }
  var timers = new WeakMap();
  function refresh(input) {
    var list = listOf(input), api = input.getAttribute('data-picker'), q = input.value.trim();
    if (!list || !api || q === '') { return; }
    var url = api + (api.indexOf('?') < 0 ? '?' : '&') + 'per_page=20&q=' + encodeURIComponent(q);
    fetch(url, { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body || input.value.trim() !== q) { return; }
        var items = Array.isArray(body) ? body : (body.items || []);
        var fields = input.getAttribute('data-picker-label') || 'name';
        // Entries are built as elements with attributes, never as HTML: names are typed by users.
        while (list.firstChild) { list.removeChild(list.firstChild); }
        items.forEach(function (item) {
          var option = document.createElement('option');
          option.value = labelOf(item, fields);
          option.setAttribute('data-id', String(item.id));
          list.appendChild(option);
        });
        sync(input);
      })
      .catch(function () { /* the suggestions stay as they were; the server resolves what is typed */ });
  }
  document.addEventListener('input', function (event) {
    var input = event.target;
    if (!input || !input.matches || !input.matches('input[data-picker]')) { return; }
    clearTimeout(timers.get(input));
    // An entry was chosen: keep the list (a search for the whole label would find nothing and empty it).
    if (sync(input)) { return; }
    timers.set(input, setTimeout(function () { refresh(input); }, 250));
  });
  document.addEventListener('change', function (event) {
    var input = event.target;
    if (input && input.matches && input.matches('input[data-picker]')) { sync(input); }
  });
})();
