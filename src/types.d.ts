declare module "*.sql" {
  const text: string;
  export default text;
}
declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const file: string;
  export default file;
}
declare module "swagger-ui-dist/swagger-ui.css" {
  const file: string;
  export default file;
}
declare module "*/docs-init.js" {
  const file: string;
  export default file;
}
