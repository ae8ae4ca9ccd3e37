// Stylesheets are imported for the bundler (bun build puts them in the CSS output), not for a value.
declare module "*.css";
