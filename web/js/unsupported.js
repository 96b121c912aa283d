// Shown only by browsers without JavaScript modules, which ignore the
// module scripts and run this file instead (<script nomodule>). Written in
// ES5 so that such browsers can parse it.
(function () {
  var languages = navigator.languages || [navigator.language || ''];
  var english = false;
  for (var i = 0; i < languages.length; i += 1) {
    var tag = String(languages[i]).toLowerCase();
    if (tag.indexOf('de') === 0) break;
    if (tag.indexOf('en') === 0) {
      english = true;
      break;
    }
  }
  var text = english
    ? 'This browser is too old for video calls. Please open the link in a current version of Chrome, Firefox, Safari or Edge.'
    : 'Dieser Browser ist für Videoanrufe zu alt. Bitte öffnen Sie den Link in einer aktuellen Version von Chrome, Firefox, Safari oder Edge.';
  document.documentElement.lang = english ? 'en' : 'de';
  var main = document.getElementsByTagName('main')[0];
  var message = document.createElement('p');
  message.className = 'error-box';
  message.setAttribute('role', 'alert');
  message.setAttribute('data-testid', 'error');
  message.appendChild(document.createTextNode(text));
  while (main.firstChild) main.removeChild(main.firstChild);
  main.appendChild(message);
  document.body.setAttribute('data-state', 'error');
})();
