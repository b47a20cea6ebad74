/*
 * Backorder Desk: keeps the backorder message (app block) and the ETA line item properties
 * (app embed) in step with the variant the shopper has selected.
 *
 * Everything it needs was rendered into the page by Liquid (script[data-backorder-eta-data]);
 * it makes no network request. Both the block and the embed load this file; it sets itself up
 * once and later loads only look for new blocks.
 *
 * The selected variant is followed through what themes do when the shopper picks one:
 *   - the product form's `id` field changes (a <select name="id">, or a hidden input that the
 *     theme's variant picker sets and announces with a `change` event);
 *   - a `variant:change` / `variant:update` event with the variant in its detail;
 *   - the URL's ?variant= changes (history.pushState / replaceState, back and forward);
 *   - and, for themes that set the `id` field silently, a cheap look at it twice a second.
 * The line item properties are also settled at the moment the form is submitted or its data is
 * collected (`submit`, `formdata`), so what reaches /cart/add always matches the variant added.
 */
(function () {
  'use strict';

  if (window.BackorderDeskEta) {
    window.BackorderDeskEta.scan();
    return;
  }

  var CART_FORM = 'form[action*="/cart/add"]';
  var DATA = 'script[type="application/json"][data-backorder-eta-data]';
  var MARK = 'data-backorder-eta-property';
  var POLL_MS = 500;

  var products = {}; // product id -> {ids, selected, blocks, embed}
  var lastSeen = new WeakMap(); // form -> the `id` value last read
  var lastUrlVariant = null;

  // Translations are HTML-escaped by Liquid's `t`; shown as text, they must be decoded first.
  function decode(html) {
    return new DOMParser().parseFromString(html, 'text/html').documentElement.textContent;
  }

  function readData(host) {
    var script = host.querySelector(DATA);
    if (!script) return null;
    try {
      return JSON.parse(script.textContent);
    } catch (error) {
      return null;
    }
  }

  function productFor(data) {
    var key = String(data.product_id);
    var product = products[key];
    if (!product) {
      product = products[key] = { ids: {}, selected: String(data.selected), blocks: [], embed: null };
    }
    data.variant_ids.forEach(function (id) {
      product.ids[String(id)] = true;
    });
    return product;
  }

  function productOfVariant(id) {
    for (var key in products) {
      if (products[key].ids[id]) return products[key];
    }
    return null;
  }

  function register(host, kind) {
    if (host.hasAttribute('data-backorder-eta-ready')) return;
    var data = readData(host);
    if (!data) return;
    host.setAttribute('data-backorder-eta-ready', '');
    var product = productFor(data);
    if (kind === 'block') {
      product.blocks.push({
        message: host.querySelector('[data-backorder-eta-message]'),
        variants: data.variants
      });
    } else {
      product.embed = { variants: data.variants, property: data.property };
    }
  }

  function formVariantId(form) {
    var field = form.elements.namedItem('id');
    return field && field.value ? String(field.value) : null;
  }

  function urlVariantId() {
    try {
      return new URL(window.location.href).searchParams.get('variant');
    } catch (error) {
      return null;
    }
  }

  function eachCartForm(callback) {
    Array.prototype.forEach.call(document.querySelectorAll(CART_FORM), callback);
  }

  function showMessages(product) {
    product.blocks.forEach(function (block) {
      if (!block.message) return;
      var entry = block.variants[product.selected];
      var text = entry ? decode(entry.message) : '';
      if (block.message.textContent !== text) block.message.textContent = text;
      block.message.hidden = !entry;
    });
  }

  // The two properties for the variant a form would add, or none.
  function propertiesFor(variantId) {
    var product = variantId && productOfVariant(variantId);
    if (!product || !product.embed) return null;
    var entry = product.embed.variants[variantId];
    if (!entry) return [];
    return [
      ['properties[' + decode(product.embed.property.name) + ']', decode(entry.date)],
      ['properties[' + product.embed.property.hidden + ']', entry.promise]
    ];
  }

  function syncProperties(form) {
    var wanted = propertiesFor(formVariantId(form));
    if (wanted === null) return;
    var present = form.querySelectorAll('input[' + MARK + ']');
    Array.prototype.forEach.call(present, function (input) {
      input.parentNode.removeChild(input);
    });
    wanted.forEach(function (pair) {
      var input = document.createElement('input');
      input.type = 'hidden';
      input.name = pair[0];
      input.value = pair[1];
      input.setAttribute(MARK, '');
      form.appendChild(input);
    });
  }

  function select(variantId) {
    if (!variantId) return;
    variantId = String(variantId);
    var product = productOfVariant(variantId);
    if (!product) return;
    product.selected = variantId;
    showMessages(product);
    eachCartForm(syncProperties);
  }

  function readForms() {
    eachCartForm(function (form) {
      var id = formVariantId(form);
      if (id !== lastSeen.get(form)) {
        lastSeen.set(form, id);
        select(id);
      }
    });
  }

  function readUrl() {
    var id = urlVariantId();
    if (id !== lastUrlVariant) {
      lastUrlVariant = id;
      select(id);
    }
  }

  function scan() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-backorder-eta-block]'), function (host) {
      register(host, 'block');
    });
    Array.prototype.forEach.call(document.querySelectorAll('[data-backorder-eta-embed]'), function (host) {
      register(host, 'embed');
    });
    for (var key in products) showMessages(products[key]);
    readUrl();
    readForms(); // the form wins: it is what will be added (and browsers restore it on back)
    eachCartForm(syncProperties);
  }

  function onFieldChange(event) {
    var field = event.target;
    if (!field || !field.form || !field.form.matches(CART_FORM)) return;
    if (field.name === 'id') {
      lastSeen.set(field.form, formVariantId(field.form));
      select(field.value);
    } else {
      // An option picker: the theme sets the `id` field once its own handler has run.
      window.setTimeout(readForms, 0);
    }
  }

  function onVariantEvent(event) {
    var detail = event.detail || {};
    var variant = detail.variant || detail.resource || null;
    if (variant && variant.id) select(variant.id);
  }

  function wrapHistory(name) {
    var original = window.history[name];
    if (typeof original !== 'function') return;
    window.history[name] = function () {
      var result = original.apply(this, arguments);
      readUrl();
      return result;
    };
  }

  function start() {
    document.addEventListener('change', onFieldChange, true);
    document.addEventListener('input', onFieldChange, true);
    // Capture phase: custom events reach the document even when they do not bubble.
    document.addEventListener('variant:change', onVariantEvent, true);
    document.addEventListener('variant:update', onVariantEvent, true);
    document.addEventListener('submit', function (event) {
      if (event.target.matches && event.target.matches(CART_FORM)) syncProperties(event.target);
    }, true);
    document.addEventListener('formdata', function (event) {
      var form = event.target;
      if (!form.matches || !form.matches(CART_FORM)) return;
      var wanted = propertiesFor(event.formData.get('id'));
      if (wanted === null) return;
      var product = productOfVariant(String(event.formData.get('id')));
      var names = ['properties[' + decode(product.embed.property.name) + ']',
                   'properties[' + product.embed.property.hidden + ']'];
      names.forEach(function (name) { event.formData.delete(name); });
      wanted.forEach(function (pair) { event.formData.set(pair[0], pair[1]); });
    });
    // The theme editor re-renders sections in place.
    document.addEventListener('shopify:section:load', scan);
    window.addEventListener('popstate', readUrl);
    wrapHistory('pushState');
    wrapHistory('replaceState');
    window.setInterval(readForms, POLL_MS);
    scan();
  }

  window.BackorderDeskEta = { scan: scan, products: products };

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
