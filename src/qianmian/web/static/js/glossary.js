// One definition per number: the formula of every rate, read once from GET /v1/glossary
// (qianmian.metrics.glossary), shown as the tooltip of the rate wherever the console prints it.
const terms = {};

export async function loadGlossary(api) {
  try {
    for (const t of await api.get("/v1/glossary")) terms[t.name] = t;
  } catch (err) {
    console.warn("glossary not loaded", err);
  }
}

// "visitor conversion = buyers ÷ visitors — Of everyone who visited, the share who bought."
export function tip(name) {
  const t = terms[name];
  return t ? `${t.label} = ${t.formula}\n${t.sentence}` : null;
}
