// Small DOM and form helpers shared by both pages. Nothing here uses innerHTML.

/**
 * Returns the element with the given id, checked to be an instance of `type`.
 * Throws when the page lacks it, which is a bug in the HTML.
 *
 * @template {Element} T
 * @param {string} id
 * @param {{ new (...args: any[]): T }} type
 * @returns {T}
 */
export function byId(id, type) {
  const element = document.getElementById(id);
  if (!(element instanceof type)) {
    throw new Error(`Element #${id} is missing or is not a ${type.name}`);
  }
  return element;
}

/**
 * Creates a `<button type="button">` with a visible label.
 *
 * @param {string} label
 * @param {() => void} onClick
 * @param {{ className?: string, ariaLabel?: string }} [options]
 * @returns {HTMLButtonElement}
 */
export function createButton(label, onClick, options = {}) {
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = label;
  if (options.className) button.className = options.className;
  if (options.ariaLabel) button.setAttribute('aria-label', options.ariaLabel);
  button.addEventListener('click', onClick);
  return button;
}

/**
 * Replaces the options of a `<select>` and selects `selectedValue` when present.
 *
 * @param {HTMLSelectElement} select
 * @param {{ value: string, label: string }[]} options
 * @param {string} [selectedValue]
 */
export function fillSelect(select, options, selectedValue) {
  const fragment = document.createDocumentFragment();
  for (const { value, label } of options) {
    const option = document.createElement('option');
    option.value = value;
    option.textContent = label;
    fragment.append(option);
  }
  select.replaceChildren(fragment);
  if (selectedValue !== undefined && options.some((option) => option.value === selectedValue)) {
    select.value = selectedValue;
  }
}

/**
 * Reads a value from localStorage, or returns null when storage is blocked,
 * as in some private browsing modes.
 *
 * @param {string} key
 * @returns {string | null}
 */
export function readStored(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/**
 * Writes a value to localStorage and ignores blocked or full storage, because
 * the stored values are only conveniences.
 *
 * @param {string} key
 * @param {string} value
 */
export function writeStored(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Nothing to do: the page works without remembered preferences.
  }
}

/**
 * Removes a value from localStorage and ignores blocked storage.
 *
 * @param {string} key
 */
export function removeStored(key) {
  try {
    localStorage.removeItem(key);
  } catch {
    // Nothing to do: blocked storage holds nothing to remove.
  }
}

/**
 * Blank at either end of a name: white space, zero-width characters and
 * fillers. Combining marks, variation selectors and tags stay, because at
 * the end they belong to the character before them. The server trims the
 * same set (`trim_name` in the signaling protocol).
 */
const NAME_END_BLANKS = '[\\p{White_Space}\\u00AD\\u115F\\u1160\\u17B4\\u17B5\\u180E\\u200B-\\u200D\\u2060-\\u2064\\u2800\\u3164\\uFEFF\\uFFA0]+';
const NAME_ENDS = new RegExp(`^${NAME_END_BLANKS}|${NAME_END_BLANKS}$`, 'gu');

/**
 * Removes white space, zero-width characters and fillers from both ends of
 * a name, so that a name pasted with a zero-width space is shown as typed.
 *
 * @param {string} name
 * @returns {string}
 */
export function trimName(name) {
  return name.replace(NAME_ENDS, '');
}
