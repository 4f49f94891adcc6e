import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.ResultSet;

/**
 * pgjdbc's DatabaseMetaData on the schema of tests/test_catalog.py, printed one line per
 * row with the columns a tool reads, so the output for this server and for PostgreSQL
 * can be compared line by line. Usage: java -cp postgresql.jar:. JdbcCatalog JDBC_URL [types]
 * With "types": the metadata whose rows are this server's own (type and function
 * lists), printed as the names a tool would show.
 */
public class JdbcCatalog {
    public static void main(String[] args) throws Exception {
        try (Connection conn = DriverManager.getConnection(args[0])) {
            DatabaseMetaData md = conn.getMetaData();
            if (args.length > 1 && args[1].equals("types")) {
                print("type", md.getTypeInfo(), "TYPE_NAME", "DATA_TYPE");
                print("tabletype", md.getTableTypes(), "TABLE_TYPE");
                print("function", md.getFunctions(null, "pg_catalog", "lower"), "FUNCTION_NAME");
                print("procedure", md.getProcedures(null, "public", "%"), "PROCEDURE_NAME");
                return;
            }
            print("tables", md.getTables(null, "public", "%", new String[] {"TABLE", "VIEW"}),
                  "TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE", "REMARKS");
            print("columns", md.getColumns(null, "public", "customers", null),
                  "COLUMN_NAME", "DATA_TYPE", "TYPE_NAME", "NULLABLE", "ORDINAL_POSITION",
                  "REMARKS");
            print("columns", md.getColumns(null, "public", "orders", null),
                  "COLUMN_NAME", "DATA_TYPE", "TYPE_NAME", "COLUMN_SIZE", "DECIMAL_DIGITS",
                  "NULLABLE");
            // a pattern with the escape pgjdbc announces: LIKE's backslash escape
            String escape = md.getSearchStringEscape();
            print("escaped", md.getColumns(null, "public", "orders", "customer" + escape + "_%"),
                  "TABLE_NAME", "COLUMN_NAME");
            print("primary", md.getPrimaryKeys(null, "public", "customers"),
                  "TABLE_NAME", "COLUMN_NAME", "KEY_SEQ", "PK_NAME");
            print("imported", md.getImportedKeys(null, "public", "orders"),
                  "PKTABLE_NAME", "PKCOLUMN_NAME", "FKTABLE_NAME", "FKCOLUMN_NAME", "KEY_SEQ",
                  "FK_NAME", "PK_NAME");
            print("exported", md.getExportedKeys(null, "public", "customers"),
                  "PKTABLE_NAME", "FKTABLE_NAME", "FKCOLUMN_NAME", "FK_NAME");
            print("index", md.getIndexInfo(null, "public", "orders", false, false),
                  "TABLE_NAME", "NON_UNIQUE", "INDEX_NAME", "ORDINAL_POSITION", "COLUMN_NAME");
            print("schemas", md.getSchemas(), "TABLE_SCHEM");
            print("catalogs", md.getCatalogs(), "TABLE_CAT");
        }
    }

    private static void print(String what, ResultSet rs, String... columns) throws Exception {
        try (rs) {
            while (rs.next()) {
                StringBuilder line = new StringBuilder(what);
                for (String column : columns) {
                    line.append(" | ").append(rs.getString(column));
                }
                System.out.println(line);
            }
        }
    }
}
