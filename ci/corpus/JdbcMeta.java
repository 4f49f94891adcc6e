import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;

/**
 * The pgjdbc client of ci/corpus/capture.py: exercises DatabaseMetaData, server-side
 * prepared statements and type look-ups so that the SQL pgjdbc sends lands in the
 * PostgreSQL statement log. Usage: java -cp postgresql.jar:. JdbcMeta JDBC_URL
 * Prints "OK <step>" or "FAIL <step>: <reason>" per step; exits 1 if any step failed.
 */
public class JdbcMeta {
    interface Step {
        void run(Connection conn) throws Exception;
    }

    private static boolean failed = false;

    public static void main(String[] args) throws Exception {
        try (Connection conn = DriverManager.getConnection(args[0])) {
            DatabaseMetaData md = conn.getMetaData();
            step(conn, "getTables", c -> drain(md.getTables(null, "public", "%", null)));
            step(conn, "getColumns", c -> drain(md.getColumns(null, "public", "customers", null)));
            step(conn, "getPrimaryKeys", c -> drain(md.getPrimaryKeys(null, "public", "customers")));
            step(conn, "getImportedKeys", c -> drain(md.getImportedKeys(null, "public", "orders")));
            step(conn, "getExportedKeys", c -> drain(md.getExportedKeys(null, "public", "customers")));
            step(conn, "getIndexInfo", c -> drain(md.getIndexInfo(null, "public", "orders", false, false)));
            step(conn, "getTypeInfo", c -> drain(md.getTypeInfo()));
            step(conn, "getSchemas", c -> drain(md.getSchemas()));
            step(conn, "getCatalogs", c -> drain(md.getCatalogs()));
            step(conn, "getFunctions", c -> drain(md.getFunctions(null, "public", "%")));
            step(conn, "getProcedures", c -> drain(md.getProcedures(null, "public", "%")));
            step(conn, "getTableTypes", c -> drain(md.getTableTypes()));
            step(conn, "prepared_reuse", JdbcMeta::preparedReuse);
            step(conn, "interval_and_array", JdbcMeta::intervalAndArray);
            step(conn, "resultset_metadata", JdbcMeta::resultSetMetaData);
        }
        System.exit(failed ? 1 : 0);
    }

    private static void step(Connection conn, String name, Step body) {
        try {
            body.run(conn);
            System.out.println("OK " + name);
        } catch (Exception e) {
            failed = true;
            System.out.println("FAIL " + name + ": " + e);
        }
    }

    /** Reads every row and every column of a result set, then closes it. */
    private static void drain(ResultSet rs) throws Exception {
        try (rs) {
            int columns = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                for (int i = 1; i <= columns; i++) {
                    rs.getObject(i);
                }
            }
        }
    }

    /** Six executions: past prepareThreshold=5 pgjdbc switches to a named server statement. */
    private static void preparedReuse(Connection conn) throws Exception {
        try (PreparedStatement ps = conn.prepareStatement("select * from orders where id = ?")) {
            for (long id = 1; id <= 6; id++) {
                ps.setLong(1, id);
                drain(ps.executeQuery());
            }
        }
    }

    /** getObject on interval and int[] makes pgjdbc look the types up in pg_type. */
    private static void intervalAndArray(Connection conn) throws Exception {
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("select interval '1 day', array[1,2,3]")) {
            while (rs.next()) {
                rs.getObject(1);
                java.sql.Array array = rs.getArray(2);
                array.getArray();
                drain(array.getResultSet());
            }
        }
    }

    /** ResultSetMetaData asks the server about source tables and columns. */
    private static void resultSetMetaData(Connection conn) throws Exception {
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("select c.id, c.name, o.amount from customers c join orders o on o.customer_id = c.id")) {
            ResultSetMetaData md = rs.getMetaData();
            for (int i = 1; i <= md.getColumnCount(); i++) {
                md.getColumnName(i);
                md.getColumnTypeName(i);
                md.getTableName(i);
                md.getSchemaName(i);
                md.isNullable(i);
                md.isAutoIncrement(i);
                md.getPrecision(i);
            }
            drain(rs);
        }
    }
}
